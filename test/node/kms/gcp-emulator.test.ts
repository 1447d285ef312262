import { createSign } from "node:crypto";
import { KeyManagementServiceClient } from "@google-cloud/kms";
import { OAuth2Client } from "google-auth-library";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { crc32c } from "../../../worker/core/kms/crc32c";
import { GcpKmsClient, GcpKmsProvider } from "../../../worker/core/kms/gcp";
import { kekContextBytes } from "../../../worker/core/kms/provider";
import { makeGcpTestSettings } from "../../kms-providers.ts";
import { startEmulator, type RunningEmulator } from "./start-emulator.ts";

/**
 * dev/gcp-kms as `wrangler dev` runs it, driven by Google's official Node client
 * (@google-cloud/kms in REST fallback mode): if the client accepts its replies, its checksums and
 * its errors, and decrypts what the vault's own `gcp` provider wrapped, the provider speaks Cloud
 * KMS and not a dialect shared only with the emulator.
 */

const settings = makeGcpTestSettings();
const serviceAccount = JSON.parse(settings.serviceAccountJson) as { private_key: string; client_email: string };
let emulator: RunningEmulator | undefined;
let origin = "";

/** An access token from the emulator's token endpoint, for a JWT signed with the service-account key. */
async function accessToken(): Promise<string> {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const iat = Math.floor(Date.now() / 1000);
  const claims = {
    iss: serviceAccount.client_email,
    scope: "https://www.googleapis.com/auth/cloudkms",
    aud: `${origin}/token`,
    iat,
    exp: iat + 600,
  };
  const input = `${encode({ alg: "RS256", typ: "JWT" })}.${encode(claims)}`;
  const signature = createSign("RSA-SHA256").update(input).sign(serviceAccount.private_key).toString("base64url");
  const res = await fetch(`${origin}/token`, {
    method: "POST",
    body: new URLSearchParams({
      grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer",
      assertion: `${input}.${signature}`,
    }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

/** The official client in REST mode, pointed at the emulator, authenticated with `token`. */
function kms(token: string): KeyManagementServiceClient {
  const auth = new OAuth2Client();
  auth.setCredentials({ access_token: token, expiry_date: Date.now() + 3_600_000 });
  const url = new URL(origin);
  return new KeyManagementServiceClient({
    fallback: true,
    apiEndpoint: url.hostname,
    port: Number(url.port),
    protocol: "http",
    authClient: auth,
  });
}

/**
 * How gax 5's REST fallback surfaces a Cloud KMS error: the HTTP status as `code` and the
 * google.rpc.Status body (with its status name) as the message.
 */
const rpcError = (code: number, status: string) => ({ code, message: expect.stringContaining(`"status":"${status}"`) });

// No retries: a refused call must fail the test at once (gax retries UNAVAILABLE for 60 s).
const once = { retry: null } as never;

beforeAll(async () => {
  emulator = await startEmulator("dev/gcp-kms/wrangler.toml", settings.emulator);
  origin = emulator.origin;
});

afterAll(async () => {
  await emulator?.dispose();
});

describe("Cloud KMS emulator with the official @google-cloud/kms client", () => {
  const aad = Buffer.from(JSON.stringify({ tenant_id: "tenant-node-gcp", kek_version: "1", purpose: "tenant-kek" }));

  it("encrypts and decrypts with AAD, verifying and returning CRC32C checksums", async () => {
    const client = kms(await accessToken());
    const plaintext = Buffer.from("hello from @google-cloud/kms");
    const [sealed] = await client.encrypt(
      {
        name: settings.keyName,
        plaintext,
        additionalAuthenticatedData: aad,
        plaintextCrc32c: { value: crc32c(plaintext) },
        additionalAuthenticatedDataCrc32c: { value: crc32c(aad) },
      },
      once,
    );
    expect(sealed.name).toBe(`${settings.keyName}/cryptoKeyVersions/1`);
    expect(sealed.verifiedPlaintextCrc32c).toBe(true);
    expect(sealed.verifiedAdditionalAuthenticatedDataCrc32c).toBe(true);
    const ciphertext = Buffer.from(sealed.ciphertext as Uint8Array);
    expect(Number(sealed.ciphertextCrc32c?.value)).toBe(crc32c(ciphertext));
    const [opened] = await client.decrypt(
      { name: settings.keyName, ciphertext, additionalAuthenticatedData: aad },
      once,
    );
    expect(Buffer.from(opened.plaintext as Uint8Array).toString()).toBe("hello from @google-cloud/kms");
    expect(Number(opened.plaintextCrc32c?.value)).toBe(crc32c(plaintext));
  });

  it("refuses decryption under other AAD and a mismatched checksum (INVALID_ARGUMENT); the right AAD opens it", async () => {
    const client = kms(await accessToken());
    const [sealed] = await client.encrypt(
      { name: settings.keyName, plaintext: Buffer.from("bound"), additionalAuthenticatedData: aad },
      once,
    );
    const otherAad = Buffer.from(
      JSON.stringify({ tenant_id: "another-tenant", kek_version: "1", purpose: "tenant-kek" }),
    );
    await expect(
      client.decrypt(
        { name: settings.keyName, ciphertext: sealed.ciphertext, additionalAuthenticatedData: otherAad },
        once,
      ),
    ).rejects.toMatchObject(rpcError(400, "INVALID_ARGUMENT"));
    await expect(
      client.encrypt({ name: settings.keyName, plaintext: Buffer.from("x"), plaintextCrc32c: { value: 12345 } }, once),
    ).rejects.toMatchObject(rpcError(400, "INVALID_ARGUMENT"));
    const [opened] = await client.decrypt(
      { name: settings.keyName, ciphertext: sealed.ciphertext, additionalAuthenticatedData: aad },
      once,
    );
    expect(Buffer.from(opened.plaintext as Uint8Array).toString()).toBe("bound");
  });

  it("holds a second key (root-key moves): its ciphertext opens under it and not under the first key", async () => {
    const client = kms(await accessToken());
    const [sealed] = await client.encrypt(
      { name: settings.secondKeyName, plaintext: Buffer.from("moved"), additionalAuthenticatedData: aad },
      once,
    );
    expect(sealed.name).toBe(`${settings.secondKeyName}/cryptoKeyVersions/1`);
    await expect(
      client.decrypt({ name: settings.keyName, ciphertext: sealed.ciphertext, additionalAuthenticatedData: aad }, once),
    ).rejects.toMatchObject(rpcError(400, "INVALID_ARGUMENT"));
    const [opened] = await client.decrypt(
      { name: settings.secondKeyName, ciphertext: sealed.ciphertext, additionalAuthenticatedData: aad },
      once,
    );
    expect(Buffer.from(opened.plaintext as Uint8Array).toString()).toBe("moved");
  });

  it("refuses a token it did not issue (UNAUTHENTICATED) and a key it does not hold (PERMISSION_DENIED)", async () => {
    await expect(
      kms("made-up-token").encrypt({ name: settings.keyName, plaintext: Buffer.from("x") }, once),
    ).rejects.toMatchObject(rpcError(401, "UNAUTHENTICATED"));
    const client = kms(await accessToken());
    await expect(
      client.encrypt({ name: `${settings.keyName}-other`, plaintext: Buffer.from("x") }, once),
    ).rejects.toMatchObject(rpcError(403, "PERMISSION_DENIED"));
    await expect(client.encrypt({ name: settings.keyName, plaintext: Buffer.from("x") }, once)).resolves.toBeDefined();
  });

  it("decrypts, with the KEK context as AAD, a KEK the vault's gcp provider wrapped", async () => {
    const sa = { ...JSON.parse(settings.serviceAccountJson), token_uri: `${origin}/token` };
    const provider = new GcpKmsProvider(
      new GcpKmsClient({
        keyName: settings.keyName,
        endpoint: origin,
        serviceAccount: sa,
        timeoutMs: 10_000,
        fetch: (r) => fetch(r),
      }),
    );
    const ctx = { tenantId: "tenant-node-gcp", kekVersion: 7 };
    const { plaintext, wrapped } = await provider.generateKek(ctx);
    const [opened] = await kms(await accessToken()).decrypt(
      {
        name: settings.keyName,
        ciphertext: Buffer.from(wrapped),
        additionalAuthenticatedData: Buffer.from(kekContextBytes(ctx)),
      },
      once,
    );
    expect(Buffer.from(opened.plaintext as Uint8Array)).toEqual(Buffer.from(plaintext));
  });
});
