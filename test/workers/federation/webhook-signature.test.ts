/**
 * Webhook request signatures: an independent OpenSSL vector, round trips, and each refusal
 * beside a positive control.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bytesToHex, utf8Encode } from "../../../worker/core/crypto/encoding";
import {
  signWebhook,
  verifyWebhookSignature,
  type VerifyWebhookOptions,
} from "../../../worker/core/federation/webhook-signature";

const SECRET = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const TS = 1_700_000_000;
const BODY = '{"credential":"db/prod","ttl":300}';

/**
 * Computed independently with OpenSSL 3.0.19:
 *   printf '%s' '1700000000.{"credential":"db/prod","ttl":300}' \
 *     | openssl dgst -sha256 -mac HMAC -macopt hexkey:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
 */
const OPENSSL_SIGNATURE = "sha256=08ae1441cc18f5e415b9d1268c33cc06ee7802fabde86ecb7e08ae3aa0e5d355";

const verify = (over: Partial<VerifyWebhookOptions> = {}) =>
  verifyWebhookSignature({
    secretHex: SECRET,
    timestampHeader: String(TS),
    signatureHeader: OPENSSL_SIGNATURE,
    body: BODY,
    now: TS * 1000,
    ...over,
  });

const outcome = async (over: Partial<VerifyWebhookOptions> = {}) => {
  const r = await verify(over);
  return r.ok ? "ok" : r.reason;
};

describe("signWebhook", () => {
  it("matches the OpenSSL vector, for a string and for the same bytes", async () => {
    expect(await signWebhook(SECRET, TS, BODY)).toBe(OPENSSL_SIGNATURE);
    expect(await signWebhook(SECRET, TS, utf8Encode(BODY))).toBe(OPENSSL_SIGNATURE);
  });

  it("refuses a short or non-hex secret and a non-integer timestamp", async () => {
    await expect(signWebhook("00".repeat(15), TS, BODY)).rejects.toThrow(/at least 16 bytes/);
    await expect(signWebhook("zz".repeat(16), TS, BODY)).rejects.toThrow();
    await expect(signWebhook(SECRET, 1.5, BODY)).rejects.toThrow();
    await expect(signWebhook(SECRET, -1, BODY)).rejects.toThrow();
    expect(await signWebhook("00".repeat(16), TS, BODY)).toMatch(/^sha256=[0-9a-f]{64}$/);
  });
});

describe("verifyWebhookSignature", () => {
  it("accepts the OpenSSL vector and returns the replay key and window", async () => {
    expect(await verify()).toEqual({
      ok: true,
      timestampSeconds: TS,
      replayKey: OPENSSL_SIGNATURE.slice("sha256=".length),
      rememberUntilMs: (TS + 300) * 1000,
    });
  });

  it("round-trips arbitrary bodies, secrets and times (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 16, maxLength: 64 }),
        fc.uint8Array({ maxLength: 200 }),
        fc.integer({ min: 0, max: 4_000_000_000 }),
        fc.integer({ min: -300_000, max: 300_000 }),
        async (secret, body, ts, offsetMs) => {
          const secretHex = bytesToHex(secret);
          const signatureHeader = await signWebhook(secretHex, ts, body);
          const r = await verifyWebhookSignature({
            secretHex,
            timestampHeader: String(ts),
            signatureHeader,
            body,
            now: ts * 1000 + offsetMs,
          });
          expect(r.ok).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("refuses missing headers", async () => {
    expect(await outcome({ timestampHeader: null })).toBe("missing_headers");
    expect(await outcome({ signatureHeader: undefined })).toBe("missing_headers");
    expect(await outcome({ signatureHeader: "" })).toBe("missing_headers");
    expect(await outcome()).toBe("ok");
  });

  it.for([
    ["timestampHeader", " 1700000000"],
    ["timestampHeader", "1700000000.0"],
    ["timestampHeader", "01700000000"],
    ["timestampHeader", "+1700000000"],
    ["timestampHeader", "1.7e9"],
    ["timestampHeader", "2023-11-14T22:13:20Z"],
    ["signatureHeader", OPENSSL_SIGNATURE.toUpperCase()],
    ["signatureHeader", OPENSSL_SIGNATURE.replace("sha256=", "SHA256=")],
    ["signatureHeader", OPENSSL_SIGNATURE.replace(/a/g, "A")],
    ["signatureHeader", OPENSSL_SIGNATURE.slice("sha256=".length)],
    ["signatureHeader", `${OPENSSL_SIGNATURE}00`],
    ["signatureHeader", OPENSSL_SIGNATURE.slice(0, -2)],
    ["signatureHeader", `sha1=${"0".repeat(40)}`],
    ["signatureHeader", `${OPENSSL_SIGNATURE} `],
  ] as const)("refuses malformed %s %j", async ([header, value]) => {
    expect(await outcome({ [header]: value })).toBe("malformed");
    expect(await outcome()).toBe("ok");
  });

  it("refuses a timestamp older than the tolerance; accepts exactly at it", async () => {
    expect(await outcome({ now: (TS + 300) * 1000 + 1 })).toBe("stale");
    expect(await outcome({ now: (TS + 3600) * 1000 })).toBe("stale");
    expect(await outcome({ now: (TS + 300) * 1000 })).toBe("ok");
    expect(await outcome({ now: (TS + 60) * 1000, toleranceSeconds: 30 })).toBe("stale");
  });

  it("refuses a timestamp further ahead than the tolerance; accepts exactly at it", async () => {
    expect(await outcome({ now: (TS - 300) * 1000 - 1 })).toBe("future");
    expect(await outcome({ now: (TS - 3600) * 1000 })).toBe("future");
    expect(await outcome({ now: (TS - 300) * 1000 })).toBe("ok");
  });

  it("refuses a bad signature: other body, other timestamp, other secret, one bit flipped", async () => {
    expect(await outcome({ body: BODY.replace("db/prod", "db/stage") })).toBe("bad_signature");
    expect(await outcome({ body: `${BODY}\n` })).toBe("bad_signature");
    // Same signature replayed under a fresh timestamp: the timestamp is inside the MAC.
    expect(await outcome({ timestampHeader: String(TS + 60), now: (TS + 60) * 1000 })).toBe("bad_signature");
    expect(await outcome({ secretHex: SECRET.replace(/^00/, "01") })).toBe("bad_signature");
    const flipped = OPENSSL_SIGNATURE.slice(0, -1) + (OPENSSL_SIGNATURE.endsWith("5") ? "4" : "5");
    expect(await outcome({ signatureHeader: flipped })).toBe("bad_signature");
    expect(await outcome({ signatureHeader: `sha256=${"0".repeat(64)}` })).toBe("bad_signature");
    expect(await outcome()).toBe("ok");
  });

  it("throws only for a misconfigured secret, never for request input", async () => {
    await expect(verify({ secretHex: "abc" })).rejects.toThrow();
    await fc.assert(
      fc.asyncProperty(
        fc.option(fc.string()),
        fc.option(fc.string()),
        fc.string(),
        async (timestampHeader, signatureHeader, body) => {
          const r = await verify({ timestampHeader, signatureHeader, body });
          expect(typeof r.ok).toBe("boolean");
        },
      ),
    );
  });
});
