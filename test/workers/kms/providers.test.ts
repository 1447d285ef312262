import { describe, expect, it } from "vitest";
import { bytesToHex } from "../../../worker/core/crypto/encoding";
import { createKmsProvider, type KmsErrorKind } from "../../../worker/core/kms";
import { kmsFailure } from "./helpers";
import { HARNESSES, PROVIDERS, azureTest, fault, gcpTest, otherPrivateKeyPem, stats } from "./providers";

const FAULTS: { mode: "delay" | "error" | "throttle" | "garbage"; kind: KmsErrorKind }[] = [
  { mode: "delay", kind: "timeout" },
  { mode: "error", kind: "unavailable" },
  { mode: "throttle", kind: "throttled" },
  { mode: "garbage", kind: "malformed" },
];

describe.each(PROVIDERS)("%s provider against its emulator", (name) => {
  const h = HARNESSES[name];

  it("wraps a fresh 32-byte KEK per call and unwraps it under the same context", async () => {
    const { tenantId, scope } = h.fresh();
    const kms = h.provider(scope);
    const a = await kms.generateKek({ tenantId, kekVersion: 1 });
    const b = await kms.generateKek({ tenantId, kekVersion: 1 });
    expect(a.plaintext).toHaveLength(32);
    expect(a.plaintext).not.toEqual(b.plaintext);
    expect(await kms.unwrapKek(a.wrapped, { tenantId, kekVersion: 1 })).toEqual(a.plaintext);
    expect(await stats(h, scope)).toEqual({ [h.ops.wrap]: 2, [h.ops.unwrap]: 1 });
  });

  it("refuses a wrapped KEK under another tenant or version, or tampered; opens it under its own", async () => {
    const { tenantId, scope } = h.fresh();
    const kms = h.provider(scope);
    const { plaintext, wrapped } = await kms.generateKek({ tenantId, kekVersion: 3 });
    expect((await kmsFailure(kms.unwrapKek(wrapped, { tenantId, kekVersion: 4 }))).kind).toBe("refused");
    expect((await kmsFailure(kms.unwrapKek(wrapped, { tenantId: h.fresh().tenantId, kekVersion: 3 }))).kind).toBe(
      "refused",
    );
    const tampered = wrapped.slice();
    tampered[tampered.length - 1]! ^= 0x01;
    expect((await kmsFailure(kms.unwrapKek(tampered, { tenantId, kekVersion: 3 }))).kind).toBe("refused");
    // Positive control: the same blob with the right context.
    expect(await kms.unwrapKek(wrapped, { tenantId, kekVersion: 3 })).toEqual(plaintext);
  });

  it("rewraps a KEK under the current root without changing it, and the new blob keeps its context", async () => {
    const { tenantId, scope } = h.fresh();
    const kms = h.provider(scope);
    const ctx = { tenantId, kekVersion: 2 };
    const { plaintext, wrapped } = await kms.generateKek(ctx);
    const rewrapped = await kms.rewrapKek(wrapped, ctx);
    expect(rewrapped).not.toEqual(wrapped);
    expect(await kms.unwrapKek(rewrapped, ctx)).toEqual(plaintext);
    expect((await kmsFailure(kms.unwrapKek(rewrapped, { tenantId, kekVersion: 3 }))).kind).toBe("refused");
    // A blob under another context is not rewrapped (nor revealed) either.
    expect((await kmsFailure(kms.rewrapKek(wrapped, { tenantId, kekVersion: 3 }))).kind).toBe("refused");
  });

  it("wraps a KEK the vault already holds (a root-key move lands it this way), bound to its context", async () => {
    const { tenantId, scope } = h.fresh();
    const kms = h.provider(scope);
    const ctx = { tenantId, kekVersion: 5 };
    const kek = crypto.getRandomValues(new Uint8Array(32));
    const wrapped = await kms.wrapKek(kek, ctx);
    expect(await kms.unwrapKek(wrapped, ctx)).toEqual(kek);
    // The plaintext is not in the blob, and the blob does not open under another context.
    expect(bytesToHex(wrapped)).not.toContain(bytesToHex(kek));
    expect((await kmsFailure(kms.unwrapKek(wrapped, { tenantId, kekVersion: 6 }))).kind).toBe("refused");
  });

  it.each(FAULTS)("maps an injected $mode to $kind, and works again once cleared", async ({ mode, kind }) => {
    const { tenantId, scope } = h.fresh();
    // A short deadline keeps the delay case fast; the injected delay outlasts it.
    const kms = h.provider(scope, { timeoutMs: 300 });
    const ctx = { tenantId, kekVersion: 1 };
    const { plaintext, wrapped } = await kms.generateKek(ctx);
    await fault(h, scope, mode, { delayMs: 1500 });
    expect((await kmsFailure(kms.unwrapKek(wrapped, ctx))).kind).toBe(kind);
    expect((await kmsFailure(kms.generateKek(ctx))).kind).toBe(kind);
    await fault(h, scope, "none");
    expect(await kms.unwrapKek(wrapped, ctx)).toEqual(plaintext);
  });
});

describe("gcp provider", () => {
  const h = HARNESSES.gcp;

  it("is refused when the service account's key is not the registered one; the right key works", async () => {
    const { tenantId, scope } = h.fresh();
    // Another service-account key: the emulator's token endpoint refuses its assertion.
    const pem = await otherPrivateKeyPem();
    const refused = await kmsFailure(
      h.provider(scope, { serviceAccount: { private_key: pem } }).generateKek({ tenantId, kekVersion: 1 }),
    );
    expect(refused.kind).toBe("refused");
    expect(refused.message).toContain("invalid_grant");
    expect(refused.message).not.toContain("PRIVATE KEY");
    await expect(h.provider(scope).generateKek({ tenantId, kekVersion: 1 })).resolves.toHaveProperty("plaintext");
  });

  it("refuses a KMS call without a token it issued, or for a key it does not hold", async () => {
    const { keyName, endpoint } = gcpTest();
    const call = (headers: Record<string, string>) =>
      h.emulator.fetch(`${endpoint}/v1/${keyName}:encrypt`, {
        method: "POST",
        headers,
        body: JSON.stringify({ plaintext: "AAAA" }),
      });
    const anonymous = await call({});
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ error: { code: 401, status: "UNAUTHENTICATED" } });
    expect((await call({ authorization: "Bearer made-up" })).status).toBe(401);
    const { tenantId, scope } = h.fresh();
    const unknown = await kmsFailure(
      h.provider(scope, { keyName: `${keyName}-other` }).generateKek({ tenantId, kekVersion: 1 }),
    );
    expect(unknown.message).toContain("PERMISSION_DENIED");
    await expect(h.provider(scope).generateKek({ tenantId, kekVersion: 1 })).resolves.toHaveProperty("wrapped");
  });

  it("refuses a reply whose CRC32C does not match its data (corruption in transit)", async () => {
    const { tenantId, scope } = h.fresh();
    const settings = h.settings(scope);
    // A fetcher between the vault and the emulator that flips one ciphertext bit, checksum untouched.
    const corrupting = {
      fetch: async (request: Request) => {
        const res = await h.emulator.fetch(request);
        if (!request.url.endsWith(":encrypt") || res.status !== 200) return res;
        const body = (await res.json()) as { ciphertext: string };
        const first = body.ciphertext[0] === "A" ? "B" : "A";
        return Response.json({ ...body, ciphertext: first + body.ciphertext.slice(1) });
      },
    } as unknown as Fetcher;
    const error = await kmsFailure(createKmsProvider(settings, corrupting).generateKek({ tenantId, kekVersion: 1 }));
    expect(error.kind).toBe("malformed");
    expect(error.message).toContain("CRC32C");
    await expect(
      createKmsProvider(settings, h.emulator).generateKek({ tenantId, kekVersion: 1 }),
    ).resolves.toHaveProperty("wrapped");
  });
});

describe("azure provider", () => {
  const h = HARNESSES.azure;

  it("is refused with a wrong client secret; the right one works", async () => {
    const { tenantId, scope } = h.fresh();
    const refused = await kmsFailure(
      h.provider(scope, { clientSecret: "not-the-client-secret-000000" }).generateKek({ tenantId, kekVersion: 1 }),
    );
    expect(refused.kind).toBe("refused");
    expect(refused.message).toContain("invalid_client");
    expect(refused.message).not.toContain("not-the-client-secret");
    await expect(h.provider(scope).generateKek({ tenantId, kekVersion: 1 })).resolves.toHaveProperty("plaintext");
  });

  it("answers Key Vault's 401 challenge without a token, and 404 for a key it does not hold", async () => {
    const { vault, tenantId: directory, keyName } = azureTest();
    const res = await h.emulator.fetch(`${vault}/keys/${keyName}//wrapkey?api-version=7.4`, {
      method: "POST",
      body: "{}",
    });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toContain(
      `authorization="https://login.microsoftonline.com/${directory}"`,
    );
    const { tenantId, scope } = h.fresh();
    const unknown = await kmsFailure(
      h.provider(scope, { keyId: `${vault}/keys/someone-elses-key` }).generateKek({ tenantId, kekVersion: 1 }),
    );
    expect(unknown.message).toContain("KeyNotFound");
    await expect(h.provider(scope).generateKek({ tenantId, kekVersion: 1 })).resolves.toHaveProperty("plaintext");
  });

  it("wraps with AES-KW (A256KW) on a Managed-HSM oct key, and refuses A256KW on an RSA key", async () => {
    const { vault, octKeyName } = azureTest();
    const { tenantId, scope } = h.fresh();
    const hsm = h.provider(scope, {
      keyId: `${vault}/keys/${octKeyName}--${crypto.randomUUID()}`,
      algorithm: "A256KW",
    });
    const { plaintext, wrapped } = await hsm.generateKek({ tenantId, kekVersion: 1 });
    expect(await hsm.unwrapKek(wrapped, { tenantId, kekVersion: 1 })).toEqual(plaintext);
    expect((await kmsFailure(hsm.unwrapKek(wrapped, { tenantId, kekVersion: 2 }))).kind).toBe("refused");
    const mismatched = await kmsFailure(
      h.provider(scope, { algorithm: "A256KW" }).generateKek({ tenantId, kekVersion: 1 }),
    );
    expect(mismatched.message).toContain("BadParameter");
  });

  it("keeps the key version in the envelope, so a KEK wrapped by a pinned version unwraps through the versionless key id", async () => {
    const { tenantId, scope } = h.fresh();
    const res = await h.emulator.fetch(`${azureTest().vault}/keys/${scope}?api-version=7.4`, {
      headers: { authorization: `Bearer ${await azureToken()}` },
    });
    const { key } = (await res.json()) as { key: { kid: string } };
    const pinned = h.provider(scope, { keyId: key.kid });
    const { plaintext, wrapped } = await pinned.generateKek({ tenantId, kekVersion: 1 });
    expect(await h.provider(scope).unwrapKek(wrapped, { tenantId, kekVersion: 1 })).toEqual(plaintext);
  });
});

/** A token from the azure emulator's Entra endpoint, for direct REST calls. */
async function azureToken(): Promise<string> {
  const t = azureTest();
  const form = new URLSearchParams({
    grant_type: "client_credentials",
    client_id: t.clientId,
    client_secret: t.clientSecret,
    scope: "https://vault.azure.net/.default",
  });
  const res = await HARNESSES.azure.emulator.fetch(`${t.authorityHost}/${t.tenantId}/oauth2/v2.0/token`, {
    method: "POST",
    body: form,
  });
  return ((await res.json()) as { access_token: string }).access_token;
}
