import { CryptographyClient, type CryptographyClientOptions } from "@azure/keyvault-keys";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AzureKeyVaultClient, AzureKeyVaultProvider } from "../../../worker/core/kms/azure";
import { makeAzureTestSettings } from "../../kms-providers.ts";
import { startEmulator, type RunningEmulator } from "./start-emulator.ts";

/**
 * dev/azure-kv as `wrangler dev` runs it, driven by Microsoft's official @azure/keyvault-keys
 * CryptographyClient (with its 401-challenge flow): if the SDK accepts its key bundle, challenge,
 * replies and errors, and unwraps what the vault's own client wrapped (and the reverse), the
 * vault's `azure` provider speaks Key Vault and not a dialect shared only with the emulator.
 */

const settings = makeAzureTestSettings();
let emulator: RunningEmulator | undefined;
let origin = "";

/** A TokenCredential that runs Entra's client-credentials grant against the emulator. */
function credential(secret = settings.clientSecret) {
  return {
    async getToken(scopes: string | string[]) {
      const scope = Array.isArray(scopes) ? scopes[0]! : scopes;
      const res = await fetch(`${origin}/${settings.tenantId}/oauth2/v2.0/token`, {
        method: "POST",
        body: new URLSearchParams({
          grant_type: "client_credentials",
          client_id: settings.clientId,
          client_secret: secret,
          scope,
        }),
      });
      if (res.status !== 200) throw new Error(`token endpoint answered ${res.status}`);
      const body = (await res.json()) as { access_token: string; expires_in: number };
      return { token: body.access_token, expiresOnTimestamp: Date.now() + body.expires_in * 1000 };
    },
  };
}

// Plain http to a local host, no retries (5xx would be retried 3x), and the emulator's host is
// not a *.vault.azure.net name the challenge resource could match.
const options: CryptographyClientOptions = {
  allowInsecureConnection: true,
  disableChallengeResourceVerification: true,
  retryOptions: { maxRetries: 0 },
};

function crypto(keyName = settings.keyName, secret?: string): CryptographyClient {
  return new CryptographyClient(`${origin}/keys/${keyName}`, credential(secret), options);
}

function vaultClient(keyName: string, algorithm: "RSA-OAEP-256" | "A256KW"): AzureKeyVaultClient {
  return new AzureKeyVaultClient({
    keyId: `${origin}/keys/${keyName}`,
    algorithm,
    tenantId: settings.tenantId,
    clientId: settings.clientId,
    clientSecret: settings.clientSecret,
    authorityHost: origin,
    timeoutMs: 10_000,
    fetch: (r) => fetch(r),
  });
}

beforeAll(async () => {
  emulator = await startEmulator("dev/azure-kv/wrangler.toml", settings.emulator);
  origin = emulator.origin;
});

afterAll(async () => {
  await emulator?.dispose();
});

describe("Key Vault emulator with the official @azure/keyvault-keys CryptographyClient", () => {
  const key = new Uint8Array(32).map((_, i) => i + 1);

  it("wraps and unwraps with RSA-OAEP-256 (remote) and RSA-OAEP (wrapped locally from the GET key bundle)", async () => {
    const client = crypto();
    for (const algorithm of ["RSA-OAEP-256", "RSA-OAEP"] as const) {
      const wrapped = await client.wrapKey(algorithm, key);
      expect(wrapped.result.length).toBe(256);
      const unwrapped = await client.unwrapKey(algorithm, wrapped.result);
      expect(Buffer.from(unwrapped.result)).toEqual(Buffer.from(key));
    }
  });

  it("wraps and unwraps with A256KW on the Managed-HSM-style oct key", async () => {
    const client = crypto(settings.octKeyName);
    const wrapped = await client.wrapKey("A256KW", key);
    expect(wrapped.result.length).toBe(40);
    expect(Buffer.from((await client.unwrapKey("A256KW", wrapped.result)).result)).toEqual(Buffer.from(key));
  });

  it("holds a second RSA key (root-key moves) with its own version; the first key cannot unwrap what it wrapped", async () => {
    const second = crypto(settings.secondKeyName);
    const wrapped = await second.wrapKey("RSA-OAEP-256", key);
    expect(wrapped.keyID).toMatch(new RegExp(`/keys/${settings.secondKeyName}/[0-9a-f]{32}$`));
    expect(wrapped.keyID!.split("/").at(-1)).not.toBe(
      (await crypto().wrapKey("RSA-OAEP-256", key)).keyID!.split("/").at(-1),
    );
    await expect(crypto().unwrapKey("RSA-OAEP-256", wrapped.result)).rejects.toMatchObject({ statusCode: 400 });
    expect(Buffer.from((await second.unwrapKey("RSA-OAEP-256", wrapped.result)).result)).toEqual(Buffer.from(key));
  });

  it("refuses a bad ciphertext (400 BadParameter), a missing key (404) and a wrong client secret; the right calls work", async () => {
    const client = crypto();
    await expect(client.unwrapKey("RSA-OAEP-256", new Uint8Array(256))).rejects.toMatchObject({
      statusCode: 400,
      code: "BadParameter",
    });
    await expect(crypto("no-such-key").wrapKey("RSA-OAEP-256", key)).rejects.toMatchObject({ statusCode: 404 });
    await expect(crypto(settings.keyName, "not-the-client-secret").wrapKey("RSA-OAEP-256", key)).rejects.toThrow(/401/);
    await expect(client.wrapKey("RSA-OAEP-256", key)).resolves.toHaveProperty("result");
  });

  it("interoperates with the vault's own client both ways, and the vault's provider round-trips over HTTP", async () => {
    const ours = vaultClient(settings.keyName, "RSA-OAEP-256");
    const sdkWrapped = await crypto().wrapKey("RSA-OAEP-256", key);
    const mine = await ours.wrap(key);
    // The SDK's key id (from its GET of the key) names the same version our wrap reply did.
    expect(sdkWrapped.keyID).toBe(`${origin}/keys/${settings.keyName}/${mine.version}`);
    expect(Buffer.from(await ours.unwrap(sdkWrapped.result, mine.version, "RSA-OAEP-256"))).toEqual(Buffer.from(key));
    expect(Buffer.from((await crypto().unwrapKey("RSA-OAEP-256", mine.wrapped)).result)).toEqual(Buffer.from(key));

    const provider = new AzureKeyVaultProvider(vaultClient(settings.keyName, "RSA-OAEP-256"));
    const ctx = { tenantId: "tenant-node-azure", kekVersion: 2 };
    const { plaintext, wrapped } = await provider.generateKek(ctx);
    expect(await provider.unwrapKek(wrapped, ctx)).toEqual(plaintext);
    await expect(provider.unwrapKek(wrapped, { ...ctx, kekVersion: 3 })).rejects.toMatchObject({ kind: "refused" });
  });
});
