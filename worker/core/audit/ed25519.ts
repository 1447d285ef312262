/**
 * Ed25519 (RFC 8032) through WebCrypto, for signing audit checkpoints.
 *
 * workerd implements the standard "Ed25519" WebCrypto algorithm (Secure Curves in WebCrypto),
 * backed by BoringSSL. Private keys cannot be imported "raw", so a 32-byte RFC 8032 seed is
 * wrapped in the fixed PKCS#8 header from RFC 8410 §7.
 */

import { base64urlToBytes, decodeOrNull } from "../crypto/encoding";
import { concatBytes, fromHex } from "./encoding";

/** Length of an RFC 8032 Ed25519 private seed and of a public key, in bytes. */
export const ED25519_KEY_BYTES = 32;
/** Length of an RFC 8032 Ed25519 signature, in bytes. */
export const ED25519_SIGNATURE_BYTES = 64;

const ALGORITHM = { name: "Ed25519" } as const;

/**
 * RFC 8410 §7 OneAsymmetricKey prefix: SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 },
 * OCTET STRING { OCTET STRING (32 bytes) } }. Followed by the seed it is a complete PKCS#8 key.
 */
const PKCS8_SEED_PREFIX = fromHex("302e020100300506032b657004220420")!;

/** An Ed25519 signing key and the raw public key that verifies its signatures. */
export interface Ed25519KeyPair {
  /** Non-extractable private key, usage "sign" only. */
  readonly privateKey: CryptoKey;
  /** The 32-byte RFC 8032 public key. */
  readonly publicKey: Uint8Array;
}

/**
 * Imports an Ed25519 private key from a 32-byte seed (bytes or lowercase hex) or from PKCS#8
 * bytes, and derives its raw public key.
 * @throws Error if the input is not a seed or a PKCS#8 Ed25519 key.
 */
export async function importSigningKey(key: Uint8Array | string): Promise<Ed25519KeyPair> {
  const bytes = typeof key === "string" ? fromHex(key) : key;
  if (bytes === null) throw new Error("Ed25519 private key: expected 64 lowercase hex characters");
  const pkcs8 = bytes.length === ED25519_KEY_BYTES ? concatBytes(PKCS8_SEED_PREFIX, bytes) : bytes;
  // WebCrypto offers no "public key of this private key" operation; the private JWK carries the
  // public point as "x" (RFC 8037 §2), so import once extractable to read it, and keep a second,
  // non-extractable import for signing.
  const extractable = await crypto.subtle.importKey("pkcs8", pkcs8, ALGORITHM, true, ["sign"]);
  const jwk = (await crypto.subtle.exportKey("jwk", extractable)) as JsonWebKey;
  const publicKey = typeof jwk.x === "string" ? fromBase64Url(jwk.x) : null;
  if (publicKey?.length !== ED25519_KEY_BYTES) throw new Error("Ed25519 private key: no public key");
  const privateKey = await crypto.subtle.importKey("pkcs8", pkcs8, ALGORITHM, false, ["sign"]);
  return { privateKey, publicKey };
}

/**
 * Imports a raw 32-byte Ed25519 public key for verification.
 * @throws Error if the key is not 32 bytes or WebCrypto refuses it.
 */
export async function importVerifyKey(publicKey: Uint8Array): Promise<CryptoKey> {
  if (publicKey.length !== ED25519_KEY_BYTES) throw new Error("Ed25519 public key must be 32 bytes");
  return crypto.subtle.importKey("raw", publicKey, ALGORITHM, true, ["verify"]);
}

/** Signs `message` (RFC 8032 §5.1.6, pure Ed25519, no prehash); returns the 64-byte signature. */
export async function sign(privateKey: CryptoKey, message: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign(ALGORITHM, privateKey, message));
}

/**
 * Verifies an Ed25519 signature (RFC 8032 §5.1.7). Returns false, never throws, for any
 * malformed input (wrong lengths, a public key that does not decode, a non-canonical S), so
 * callers handling attacker-supplied notes need no try/catch.
 */
export async function verify(
  publicKey: Uint8Array | CryptoKey,
  message: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  try {
    if (signature.length !== ED25519_SIGNATURE_BYTES) return false;
    const key = publicKey instanceof Uint8Array ? await importVerifyKey(publicKey) : publicKey;
    return await crypto.subtle.verify(ALGORITHM, key, signature, message);
  } catch {
    return false;
  }
}

/** base64url without padding (RFC 7515 §2, as used by JWK) to bytes, via the strict decoder. */
function fromBase64Url(text: string): Uint8Array | null {
  return decodeOrNull(base64urlToBytes, text);
}
