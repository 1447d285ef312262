/**
 * SHA-256 (FIPS 180-4) through WebCrypto: the one place the project hashes asynchronously.
 * Runs in Workers, Node >= 20 and browsers. The Durable Object, which must hash inside
 * `transactionSync`, uses the synchronous twin in `sha256-sync.ts` (node:crypto); both give the
 * same bytes, which the audit codec relies on (test/workers/audit-log/hash-agreement.test.ts).
 */
import { bytesToHex } from "./encoding";

const encoder = new TextEncoder();

/** SHA-256 digest of `data`; a string is hashed as its UTF-8 (see {@link sha256Hex}). */
export async function sha256(data: Uint8Array | string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", typeof data === "string" ? encoder.encode(data) : data));
}

/**
 * Lowercase hex SHA-256 of `data`; a string is hashed as its UTF-8 (WHATWG TextEncoder, so a
 * lone surrogate becomes U+FFFD exactly as node:crypto's `update(text, "utf8")` does).
 */
export async function sha256Hex(data: Uint8Array | string): Promise<string> {
  return bytesToHex(await sha256(data));
}
