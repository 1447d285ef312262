/**
 * Signed webhook lease requests for CI systems without OIDC.
 *
 * The sender computes `X-Vault-Signature: sha256=<hex>` where hex is the lowercase HMAC-SHA256
 * (RFC 2104, FIPS 180-4) under the webhook secret of `<X-Vault-Timestamp>.<raw body>`, the timestamp
 * being decimal Unix seconds. Binding the timestamp into the MAC keeps an old signature from being
 * replayed with a fresh timestamp.
 *
 * Replay protection within the window is the caller's job: on success, remember `replayKey` until
 * `rememberUntilMs` (for example in the tenant Durable Object's storage) and refuse a request whose
 * key is already remembered. After `rememberUntilMs` the timestamp check alone refuses it. Only the
 * canonical lowercase form is accepted, so a signature cannot be replayed with its hex re-cased.
 */
import { bytesToHex, concatBytes, hexToBytes, utf8Encode } from "../crypto/encoding";
import { hmacSha256, timingSafeEqual } from "../crypto/primitives";

/** Closed set of reasons a webhook request is refused. */
export type WebhookSignatureFailure = "missing_headers" | "malformed" | "stale" | "future" | "bad_signature";

/** Shortest webhook secret accepted: 128 bits. */
export const MIN_WEBHOOK_SECRET_BYTES = 16;

/** Default tolerance between the sender's timestamp and our clock, in seconds (5 minutes). */
export const DEFAULT_WEBHOOK_TOLERANCE_SECONDS = 300;

const TIMESTAMP = /^(0|[1-9][0-9]{0,11})$/;
const SIGNATURE = /^sha256=([0-9a-f]{64})$/;

function secretBytes(secretHex: string): Uint8Array {
  const bytes = hexToBytes(secretHex);
  if (bytes.length < MIN_WEBHOOK_SECRET_BYTES) {
    throw new Error(`webhook secret must be at least ${MIN_WEBHOOK_SECRET_BYTES} bytes`);
  }
  return bytes;
}

function message(timestamp: string, body: string | Uint8Array): Uint8Array {
  return concatBytes(utf8Encode(`${timestamp}.`), typeof body === "string" ? utf8Encode(body) : body);
}

/**
 * The `X-Vault-Signature` value for `body` sent at `timestampSeconds`: `sha256=` and the lowercase
 * hex HMAC-SHA256 of `${timestampSeconds}.${body}` under the secret.
 * @param body the exact bytes sent; a string is taken as its UTF-8 encoding.
 * @throws Error if `secretHex` is not hex of at least 16 bytes or the timestamp is not a whole
 *   non-negative number of seconds.
 */
export async function signWebhook(
  secretHex: string,
  timestampSeconds: number,
  body: string | Uint8Array,
): Promise<string> {
  const timestamp = String(timestampSeconds);
  if (!Number.isSafeInteger(timestampSeconds) || !TIMESTAMP.test(timestamp)) {
    throw new Error("timestampSeconds must be a whole non-negative number of seconds");
  }
  return `sha256=${bytesToHex(await hmacSha256(secretBytes(secretHex), message(timestamp, body)))}`;
}

/** Inputs of {@link verifyWebhookSignature}; header values straight from `Headers.get`. */
export interface VerifyWebhookOptions {
  /** The webhook's secret, hex (server-side configuration, not request input). */
  secretHex: string;
  /** `X-Vault-Timestamp`: decimal Unix seconds, no sign, no leading zeros, no whitespace. */
  timestampHeader: string | null | undefined;
  /** `X-Vault-Signature`: `sha256=` and 64 lowercase hex digits. */
  signatureHeader: string | null | undefined;
  /** The raw request body exactly as received; a string is taken as its UTF-8 encoding. */
  body: string | Uint8Array;
  /** Current time, milliseconds since the epoch. */
  now: number;
  /** Largest accepted distance between timestamp and `now`, either way, in seconds. Default 300. */
  toleranceSeconds?: number;
}

/** The verdict. On success, `replayKey` must be remembered until `rememberUntilMs` and refused if seen. */
export type VerifyWebhookResult =
  | { ok: true; timestampSeconds: number; replayKey: string; rememberUntilMs: number }
  | { ok: false; reason: WebhookSignatureFailure; message: string };

/**
 * Verifies a signed webhook request: headers present and canonical, timestamp within
 * `toleranceSeconds` of `now` in either direction, then the MAC, compared in constant time with
 * `crypto.subtle.timingSafeEqual`. Does not detect replays within the window (see module doc).
 * @throws Error only if `secretHex` is invalid (server misconfiguration); never for request input.
 */
export async function verifyWebhookSignature(opts: VerifyWebhookOptions): Promise<VerifyWebhookResult> {
  const { timestampHeader, signatureHeader, now } = opts;
  const tolerance = opts.toleranceSeconds ?? DEFAULT_WEBHOOK_TOLERANCE_SECONDS;
  const secret = secretBytes(opts.secretHex);
  if (!timestampHeader || !signatureHeader) {
    return { ok: false, reason: "missing_headers", message: "X-Vault-Timestamp and X-Vault-Signature are required" };
  }
  if (!TIMESTAMP.test(timestampHeader)) {
    return { ok: false, reason: "malformed", message: "X-Vault-Timestamp must be decimal Unix seconds" };
  }
  const sig = SIGNATURE.exec(signatureHeader);
  if (!sig) {
    return { ok: false, reason: "malformed", message: "X-Vault-Signature must be sha256= and 64 lowercase hex digits" };
  }
  const ts = Number(timestampHeader);
  // Compare in milliseconds so the boundary is exact: exactly `tolerance` seconds old is accepted.
  const ageMs = now - ts * 1000;
  if (ageMs > tolerance * 1000) {
    return { ok: false, reason: "stale", message: `timestamp is more than ${tolerance} s old` };
  }
  if (-ageMs > tolerance * 1000) {
    return { ok: false, reason: "future", message: `timestamp is more than ${tolerance} s ahead` };
  }
  let signed: Uint8Array;
  try {
    signed = message(timestampHeader, opts.body);
  } catch {
    // Only a string body with an unpaired surrogate lands here; it has no UTF-8 form to verify.
    return { ok: false, reason: "malformed", message: "body is not valid Unicode text; pass the raw bytes" };
  }
  const expected = await hmacSha256(secret, signed);
  // Both are 32 bytes here, so timingSafeEqual compares every byte whatever the content.
  if (!timingSafeEqual(expected, hexToBytes(sig[1]!))) {
    return { ok: false, reason: "bad_signature", message: "signature does not match" };
  }
  return { ok: true, timestampSeconds: ts, replayKey: sig[1]!, rememberUntilMs: (ts + tolerance) * 1000 };
}
