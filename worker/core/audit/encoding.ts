/**
 * Byte encodings for the audit log, as the C2SP note formats and entry hashes need them: the
 * project's strict codecs (worker/core/crypto/encoding.ts) with a null-returning face, because note
 * and checkpoint parsing treat bad input as a verdict, not an exception. Hex is lowercase only
 * here, so a hash has exactly one spelling and compares as a string.
 */
import { base64ToBytes, bytesToBase64, bytesToHex, concatBytes, hexToBytes } from "../crypto/encoding";

export { concatBytes };

/** Lowercase hex of `bytes`. */
export const toHex = bytesToHex;

/** Standard, padded base64 of `bytes` (RFC 4648 §4). */
export const toBase64 = bytesToBase64;

/** Decodes lowercase hex of even length; null on anything else (uppercase included). */
export function fromHex(hex: string): Uint8Array | null {
  if (/[A-F]/.test(hex)) return null;
  try {
    return hexToBytes(hex);
  } catch {
    return null;
  }
}

/** Decodes canonical padded base64 (RFC 4648 §3.5: zero pad bits); null on anything else. */
export function fromBase64(text: string): Uint8Array | null {
  try {
    return base64ToBytes(text);
  } catch {
    return null;
  }
}

/** Equality of two byte strings (not constant-time: only for public values such as key IDs). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** The part of node:crypto used here; present in Node (and workerd with nodejs_compat). */
type NodeHash = { createHash(algorithm: "sha256"): { update(data: Uint8Array): { digest(): Uint8Array } } };

/**
 * node:crypto where the runtime has it (process.getBuiltinModule: Node ≥ 20.16), without a static
 * import, so this module still loads in browsers. Verifying a 100,000-entry export hashes each
 * entry about three times; WebCrypto's digest runs every call through a thread pool (~16 µs each
 * in Node), the synchronous hash takes ~1 µs (bench/merkle.mjs).
 */
const nodeCrypto = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.("node:crypto") as NodeHash | undefined;

/** SHA-256 of `bytes` (FIPS 180-4): node:crypto when available, else WebCrypto. */
export async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  if (nodeCrypto) return new Uint8Array(nodeCrypto.createHash("sha256").update(bytes).digest());
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}
