import { env } from "cloudflare:test";
import { AwsClient } from "aws4fetch";
import { describe, expect, it } from "vitest";
import { bytesToBase64 } from "../../../worker/core/crypto/encoding";
import { freshTenant, kmsSettings } from "./helpers";

/** A signer with the test credentials, or with `overrides`. */
function signer(overrides: { accessKeyId?: string; secretAccessKey?: string } = {}): AwsClient {
  const s = kmsSettings();
  return new AwsClient({
    accessKeyId: overrides.accessKeyId ?? s.accessKeyId,
    secretAccessKey: overrides.secretAccessKey ?? s.secretAccessKey,
    service: "kms",
    region: s.region,
  });
}

/** A signed GenerateDataKey request for a fresh tenant. */
function generateDataKey(aws: AwsClient, datetime?: string): Promise<Request> {
  const s = kmsSettings();
  return aws.sign(s.endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "TrentService.GenerateDataKey" },
    body: JSON.stringify({ KeyId: s.keyId, KeySpec: "AES_256", EncryptionContext: { tenant_id: freshTenant() } }),
    aws: datetime === undefined ? {} : { datetime },
  });
}

/** Sends to the emulator and returns status and AWS error type (if any). */
async function send(request: Request): Promise<{ status: number; type: string | undefined }> {
  const res = await env.KMS_EMULATOR!.fetch(request);
  // Bytes, not res.json(): workerd warns on text reads of application/x-amz-json-1.1.
  const body = JSON.parse(new TextDecoder().decode(await res.arrayBuffer())) as { __type?: string };
  return { status: res.status, type: body.__type };
}

/** X-Amz-Date format, `minutes` away from now. */
function amzDate(minutes: number): string {
  return new Date(Date.now() + minutes * 60_000).toISOString().replace(/[:-]|\.\d{3}/g, "");
}

describe("KMS emulator: SigV4 verification", () => {
  it("accepts a correctly signed request (positive control)", async () => {
    expect(await send(await generateDataKey(signer()))).toEqual({ status: 200, type: undefined });
  });

  it("refuses an unknown access key id", async () => {
    const res = await send(await generateDataKey(signer({ accessKeyId: "AKIDSOMEONEELSE00001" })));
    expect(res).toEqual({ status: 400, type: "UnrecognizedClientException" });
  });

  it("refuses a signature made with the wrong secret", async () => {
    const res = await send(await generateDataKey(signer({ secretAccessKey: "wrong-secret-access-key-000000000000" })));
    expect(res).toEqual({ status: 400, type: "InvalidSignatureException" });
  });

  it("refuses a body changed after signing", async () => {
    const signed = await generateDataKey(signer());
    const tampered = new Request(signed, { body: JSON.stringify({ KeyId: kmsSettings().keyId, NumberOfBytes: 16 }) });
    expect(await send(tampered)).toEqual({ status: 400, type: "InvalidSignatureException" });
  });

  it("refuses a signed header changed after signing", async () => {
    const signed = await generateDataKey(signer());
    const headers = new Headers(signed.headers);
    headers.set("X-Amz-Target", "TrentService.Encrypt");
    const tampered = new Request(signed, { headers });
    expect(await send(tampered)).toEqual({ status: 400, type: "InvalidSignatureException" });
  });

  it("refuses a date more than 15 minutes old or ahead, accepts one 10 minutes old", async () => {
    expect(await send(await generateDataKey(signer(), amzDate(-16)))).toEqual({
      status: 400,
      type: "InvalidSignatureException",
    });
    expect(await send(await generateDataKey(signer(), amzDate(16)))).toEqual({
      status: 400,
      type: "InvalidSignatureException",
    });
    expect((await send(await generateDataKey(signer(), amzDate(-10)))).status).toBe(200);
  });

  it("refuses a request without Authorization", async () => {
    const signed = await generateDataKey(signer());
    const headers = new Headers(signed.headers);
    headers.delete("Authorization");
    expect(await send(new Request(signed, { headers }))).toEqual({
      status: 400,
      type: "MissingAuthenticationTokenException",
    });
  });
});

describe("KMS emulator: protocol", () => {
  async function call(target: string, payload: unknown) {
    const s = kmsSettings();
    const request = await signer().sign(s.endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target },
      body: JSON.stringify(payload),
    });
    return send(request);
  }

  it("answers an unknown operation with UnknownOperationException", async () => {
    expect(await call("TrentService.ScheduleKeyDeletion", {})).toEqual({
      status: 400,
      type: "UnknownOperationException",
    });
    expect(await call("TrentService.DescribeKey", { KeyId: kmsSettings().keyId })).toEqual({
      status: 200,
      type: undefined,
    });
  });

  it("validates input: base64, sizes, KeySpec xor NumberOfBytes", async () => {
    const { keyId } = kmsSettings();
    const bad = [
      { KeyId: keyId, Plaintext: "not base64!" },
      { KeyId: keyId, Plaintext: "" },
      { KeyId: keyId, Plaintext: bytesToBase64(new Uint8Array(4097)) },
    ];
    for (const payload of bad) {
      expect(await call("TrentService.Encrypt", payload)).toEqual({ status: 400, type: "ValidationException" });
    }
    expect(await call("TrentService.GenerateDataKey", { KeyId: keyId, KeySpec: "AES_256", NumberOfBytes: 32 })).toEqual(
      {
        status: 400,
        type: "ValidationException",
      },
    );
    expect(
      await call("TrentService.Encrypt", { KeyId: keyId, Plaintext: bytesToBase64(new Uint8Array(4096)) }),
    ).toEqual({
      status: 200,
      type: undefined,
    });
  });

  it("answers a garbled ciphertext with InvalidCiphertextException", async () => {
    const { keyId } = kmsSettings();
    const blob = bytesToBase64(new Uint8Array(60).fill(1));
    expect(await call("TrentService.Decrypt", { KeyId: keyId, CiphertextBlob: blob })).toEqual({
      status: 400,
      type: "InvalidCiphertextException",
    });
  });

  it("takes POST only", async () => {
    const res = await env.KMS_EMULATOR!.fetch("http://kms-emulator.local/");
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("POST");
  });

  it("guards the control endpoints with the secret", async () => {
    const url = `http://kms-emulator.local/__control/stats?tenantId=${freshTenant()}`;
    expect((await env.KMS_EMULATOR!.fetch(url)).status).toBe(403);
    expect((await env.KMS_EMULATOR!.fetch(url, { headers: { "x-emulator-control": "guess" } })).status).toBe(403);
    const ok = await env.KMS_EMULATOR!.fetch(url, { headers: { "x-emulator-control": kmsSettings().secretAccessKey } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ calls: {} });
  });
});
