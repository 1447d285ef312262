/**
 * Thin, checked wrappers over WebCrypto (`crypto.subtle`), the only crypto implementation the
 * Worker uses. They pin the parameters the vault relies on (96-bit GCM nonces, 128-bit tags,
 * SHA-256) so no caller can pick weaker ones by accident.
 */

/** AES-GCM nonce length: 96 bits, the length SP 800-38D §5.2.1.1 recommends and the only one used as the counter directly. */
export const AES_GCM_IV_BYTES = 12;
/** AES-GCM tag length: the full 128 bits (NIST SP 800-38D §5.2.1.2, Appendix C on short tags). */
export const AES_GCM_TAG_BYTES = 16;
/** SHA-256 output length. */
export const SHA256_BYTES = 32;
/** RFC 5869 §2.3: HKDF output is at most 255 * HashLen bytes. */
export const HKDF_SHA256_MAX_BYTES = 255 * SHA256_BYTES;

// WebCrypto getRandomValues(): throws QuotaExceededError above 65,536 bytes per call.
const RANDOM_CHUNK_BYTES = 65_536;

/** Key usages an AES-GCM key can be imported with. */
export type AesKeyUsage = "encrypt" | "decrypt";
/** Key usages an HMAC key can be imported with. */
export type HmacKeyUsage = "sign" | "verify";

/**
 * `n` bytes from the platform CSPRNG (`crypto.getRandomValues`).
 * @throws Error unless `n` is a non-negative integer.
 */
export function randomBytes(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0) throw new Error("randomBytes: length must be a non-negative integer");
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += RANDOM_CHUNK_BYTES) {
    crypto.getRandomValues(out.subarray(i, Math.min(n, i + RANDOM_CHUNK_BYTES)));
  }
  return out;
}

function assertIv(iv: Uint8Array): void {
  // Other lengths are legal in GCM but are GHASHed into the initial counter (SP 800-38D §7.1), which
  // weakens the nonce-collision bound (Iwata, Ohashi, Minematsu, CRYPTO 2012); format v1 writes 12.
  if (iv.length !== AES_GCM_IV_BYTES) throw new Error("AES-GCM IV must be exactly 12 bytes");
}

/**
 * Imports raw AES key bytes as a non-extractable AES-GCM key.
 * @param raw 16 or 32 bytes (AES-128 / AES-256); 24 is passed through to WebCrypto, which may refuse it.
 * @throws Error on any other length.
 */
export async function importAesKey(raw: Uint8Array, usages: readonly AesKeyUsage[]): Promise<CryptoKey> {
  if (raw.length !== 16 && raw.length !== 24 && raw.length !== 32) {
    throw new Error("AES key must be 16, 24 or 32 bytes");
  }
  return crypto.subtle.importKey("raw", raw, { name: "AES-GCM" }, false, [...usages]);
}

/**
 * AES-GCM encryption with a 12-byte IV and a 16-byte tag.
 * @returns ciphertext followed by the tag (WebCrypto's layout).
 * @throws Error if `iv` is not exactly 12 bytes.
 */
export async function aesGcmEncrypt(
  key: CryptoKey,
  iv: Uint8Array,
  aad: Uint8Array,
  plaintext: Uint8Array,
): Promise<Uint8Array> {
  assertIv(iv);
  const out = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: aad, tagLength: AES_GCM_TAG_BYTES * 8 },
    key,
    plaintext,
  );
  return new Uint8Array(out);
}

/**
 * AES-GCM decryption of `ciphertext || tag` with a 12-byte IV.
 * @throws Error if `iv` is not exactly 12 bytes; WebCrypto's OperationError if the tag does not verify.
 */
export async function aesGcmDecrypt(
  key: CryptoKey,
  iv: Uint8Array,
  aad: Uint8Array,
  ciphertextAndTag: Uint8Array,
): Promise<Uint8Array> {
  assertIv(iv);
  if (ciphertextAndTag.length < AES_GCM_TAG_BYTES) throw new Error("AES-GCM input shorter than the tag");
  const out = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv, additionalData: aad, tagLength: AES_GCM_TAG_BYTES * 8 },
    key,
    ciphertextAndTag,
  );
  return new Uint8Array(out);
}

/**
 * Imports raw bytes as a non-extractable HKDF base key (usable only for `deriveKey`/`deriveBits`).
 * The caller still owns `raw` and should zero it once nothing else needs it.
 */
export async function importHkdfKey(raw: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", raw, "HKDF", false, ["deriveKey", "deriveBits"]);
}

function assertHkdfLength(lengthBytes: number): void {
  if (!Number.isInteger(lengthBytes) || lengthBytes < 1 || lengthBytes > HKDF_SHA256_MAX_BYTES) {
    throw new Error("HKDF-SHA256 output length must be 1..8160 bytes");
  }
}

/**
 * HKDF-SHA256 (RFC 5869) extract-and-expand.
 * @param ikm input keying material, as bytes or an HKDF key from {@link importHkdfKey}.
 * @param salt may be empty (RFC 5869 §2.2 then uses HashLen zero bytes).
 * @throws Error if `lengthBytes` is outside 1..8160 (RFC 5869 §2.3).
 */
export async function hkdfSha256(
  ikm: Uint8Array | CryptoKey,
  salt: Uint8Array,
  info: Uint8Array,
  lengthBytes: number,
): Promise<Uint8Array> {
  assertHkdfLength(lengthBytes);
  const base = ikm instanceof Uint8Array ? await importHkdfKey(ikm) : ikm;
  const bits = await crypto.subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt, info }, base, lengthBytes * 8);
  return new Uint8Array(bits);
}

/**
 * Derives a non-extractable AES-256-GCM key with HKDF-SHA256 from an HKDF base key; the key equals
 * `importAesKey(hkdfSha256(base, salt, info, 32))` without the derived bytes ever reaching JS.
 */
export async function hkdfSha256AesKey(
  base: CryptoKey,
  salt: Uint8Array,
  info: Uint8Array,
  usages: readonly AesKeyUsage[],
): Promise<CryptoKey> {
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt, info },
    base,
    { name: "AES-GCM", length: 256 },
    false,
    [...usages],
  );
}

/**
 * Imports raw bytes as a non-extractable HMAC-SHA256 key. Keys longer than the 64-byte block are
 * hashed first, as RFC 2104 §2 says; WebCrypto does that itself.
 * @throws Error on an empty key.
 */
export async function importHmacKey(raw: Uint8Array, usages: readonly HmacKeyUsage[] = ["sign"]): Promise<CryptoKey> {
  // WebCrypto's HMAC "import key" throws a DataError on a zero-length key; say so plainly instead.
  if (raw.length === 0) throw new Error("HMAC key must not be empty");
  return crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, [...usages]);
}

/**
 * HMAC-SHA256 (RFC 2104) of `data`, full 32-byte tag.
 * @param key raw key bytes or a key from {@link importHmacKey} with the `sign` usage.
 */
export async function hmacSha256(key: Uint8Array | CryptoKey, data: Uint8Array): Promise<Uint8Array> {
  const k = key instanceof Uint8Array ? await importHmacKey(key, ["sign"]) : key;
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, data));
}

/**
 * Constant-time equality of two byte strings, via workerd's `crypto.subtle.timingSafeEqual`.
 * Lengths are not secret here (tags and hashes have fixed sizes), so a length mismatch returns
 * false at once; workerd's function throws on it instead.
 */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return crypto.subtle.timingSafeEqual(a, b);
}
