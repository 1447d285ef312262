import { describe, expect, it } from "vitest";
import { callStats, emulatorClient, emulatorProvider, freshTenant, kmsFailure, kmsSettings } from "./helpers";

describe("AwsKmsProvider against the KMS emulator", () => {
  it("generates a 32-byte KEK and unwraps it under the same context", async () => {
    const kms = emulatorProvider();
    const ctx = { tenantId: freshTenant(), kekVersion: 1 };
    const { plaintext, wrapped } = await kms.generateKek(ctx);
    expect(plaintext).toHaveLength(32);
    expect(wrapped.length).toBeGreaterThan(32);
    expect(await kms.unwrapKek(wrapped, ctx)).toEqual(plaintext);
  });

  it("gives every call a different KEK", async () => {
    const kms = emulatorProvider();
    const tenantId = freshTenant();
    const a = await kms.generateKek({ tenantId, kekVersion: 1 });
    const b = await kms.generateKek({ tenantId, kekVersion: 1 });
    expect(a.plaintext).not.toEqual(b.plaintext);
  });

  it("refuses to unwrap under another version or tenant, but unwraps under its own", async () => {
    const kms = emulatorProvider();
    const tenantId = freshTenant();
    const { plaintext, wrapped } = await kms.generateKek({ tenantId, kekVersion: 3 });
    const otherVersion = await kmsFailure(kms.unwrapKek(wrapped, { tenantId, kekVersion: 4 }));
    expect(otherVersion.kind).toBe("refused");
    expect(otherVersion.message).toContain("InvalidCiphertextException");
    const otherTenant = await kmsFailure(kms.unwrapKek(wrapped, { tenantId: freshTenant(), kekVersion: 3 }));
    expect(otherTenant.kind).toBe("refused");
    // Positive control: the same blob and provider with the right context.
    expect(await kms.unwrapKek(wrapped, { tenantId, kekVersion: 3 })).toEqual(plaintext);
  });

  it("refuses a tampered wrapped KEK", async () => {
    const kms = emulatorProvider();
    const ctx = { tenantId: freshTenant(), kekVersion: 1 };
    const { wrapped } = await kms.generateKek(ctx);
    const tampered = wrapped.slice();
    tampered[tampered.length - 1]! ^= 0x01;
    expect((await kmsFailure(kms.unwrapKek(tampered, ctx))).kind).toBe("refused");
  });

  it("is refused with a wrong secret or access key id; the right credentials work", async () => {
    const ctx = { tenantId: freshTenant(), kekVersion: 1 };
    const wrongSecret = await kmsFailure(
      emulatorProvider({ secretAccessKey: "not-the-secret-access-key-0000000000" }).generateKek(ctx),
    );
    expect(wrongSecret.kind).toBe("refused");
    expect(wrongSecret.message).toContain("InvalidSignatureException");
    expect(wrongSecret.message).not.toContain("not-the-secret");
    const wrongKeyId = await kmsFailure(emulatorProvider({ accessKeyId: "AKIDSOMEONEELSE00001" }).generateKek(ctx));
    expect(wrongKeyId.kind).toBe("refused");
    expect(wrongKeyId.message).toContain("UnrecognizedClientException");
    // Positive control.
    await expect(emulatorProvider().generateKek(ctx)).resolves.toHaveProperty("plaintext");
  });

  it("is refused for a key the KMS does not hold; accepts the key's ARN form", async () => {
    const ctx = { tenantId: freshTenant(), kekVersion: 1 };
    const unknown = await kmsFailure(emulatorProvider({ keyId: "alias/someone-elses-key" }).generateKek(ctx));
    expect(unknown.kind).toBe("refused");
    const { region, keyId } = kmsSettings();
    const arn = `arn:aws:kms:${region}:000000000000:${keyId}`;
    const { plaintext, wrapped } = await emulatorProvider({ keyId: arn }).generateKek(ctx);
    expect(await emulatorProvider().unwrapKek(wrapped, ctx)).toEqual(plaintext);
  });

  it("counts calls per tenant", async () => {
    const kms = emulatorProvider();
    const tenantId = freshTenant();
    const idle = freshTenant();
    const { wrapped } = await kms.generateKek({ tenantId, kekVersion: 1 });
    await kms.unwrapKek(wrapped, { tenantId, kekVersion: 1 });
    await kms.unwrapKek(wrapped, { tenantId, kekVersion: 1 });
    expect(await callStats(tenantId)).toEqual({ GenerateDataKey: 1, Decrypt: 2 });
    expect(await callStats(idle)).toEqual({});
  });
});

describe("AwsKmsClient operations the provider does not use", () => {
  it("encrypts, decrypts and re-encrypts under a new context", async () => {
    const client = emulatorClient();
    const { keyId } = kmsSettings();
    const tenantId = freshTenant();
    const plaintext = new TextEncoder().encode("a value KMS wraps directly");
    const source = { tenant_id: tenantId, purpose: "test" };
    const destination = { tenant_id: tenantId, purpose: "test-moved" };
    const { ciphertext } = await client.encrypt({ keyId, plaintext, context: source });
    expect((await client.decrypt({ keyId, ciphertext, context: source })).plaintext).toEqual(plaintext);

    const moved = await client.reEncrypt({
      ciphertext,
      sourceKeyId: keyId,
      sourceContext: source,
      destinationKeyId: keyId,
      destinationContext: destination,
    });
    expect((await client.decrypt({ keyId, ciphertext: moved.ciphertext, context: destination })).plaintext).toEqual(
      plaintext,
    );
    await expect(client.decrypt({ keyId, ciphertext: moved.ciphertext, context: source })).rejects.toMatchObject({
      kind: "refused",
    });
    expect(await callStats(tenantId)).toEqual({ Encrypt: 1, Decrypt: 3, ReEncrypt: 1 });
  });
});
