/**
 * Synchronous SHA-256 and HMAC-SHA-256 (node:crypto, available in workerd with `nodejs_compat`).
 * Only for code that cannot await: the Durable Object builds, hashes and stores an audit entry
 * inside `transactionSync`, where an `await` would end the transaction. Everything else uses the
 * WebCrypto helpers in `sha256.ts`, which this module matches byte for byte. Not imported by the
 * SDK or anything that must run in a browser.
 */
import { createHash, createHmac } from "node:crypto";

/** SHA-256 digest of `data` (a string as UTF-8, lone surrogates as U+FFFD). */
export function sha256Sync(data: Uint8Array | string): Uint8Array {
  return new Uint8Array(createHash("sha256").update(data).digest());
}

/**
 * SHA-256 of the parts one after the other (strings as UTF-8), without first copying them into one
 * buffer: e.g. an RFC 6962 leaf, SHA-256(0x00 ‖ entry), for every audit append and verified entry.
 */
export function sha256PartsSync(...parts: (Uint8Array | string)[]): Uint8Array {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part);
  return new Uint8Array(hash.digest());
}

/** Lowercase hex SHA-256 of `data` (a string as UTF-8). */
export function sha256HexSync(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** HMAC-SHA-256 (RFC 2104) of `data` (a string as UTF-8) under `key`. */
export function hmacSha256Sync(key: Uint8Array, data: Uint8Array | string): Uint8Array {
  return new Uint8Array(createHmac("sha256", key).update(data).digest());
}

/** Lowercase hex HMAC-SHA-256 (RFC 2104) of `data` (a string as UTF-8) under `key`. */
export function hmacSha256HexSync(key: Uint8Array, data: Uint8Array | string): string {
  return createHmac("sha256", key).update(data).digest("hex");
}
