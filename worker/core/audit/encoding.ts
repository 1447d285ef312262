/**
 * Byte encodings for the audit log, as the C2SP note formats and entry hashes need them: the
 * project's strict codecs (worker/core/crypto/encoding.ts) with a null-returning face, because note
 * and checkpoint parsing treat bad input as a verdict, not an exception. Hex is lowercase only
 * here, so a hash has exactly one spelling and compares as a string.
 */
import { base64ToBytes, bytesToBase64, bytesToHex, concatBytes, decodeOrNull, hexToBytes } from "../crypto/encoding";

export { concatBytes };
export { sha256 } from "../crypto/sha256";

/** Lowercase hex of `bytes`. */
export const toHex = bytesToHex;

/** Standard, padded base64 of `bytes` (RFC 4648 §4). */
export const toBase64 = bytesToBase64;

/** Decodes lowercase hex of even length; null on anything else (uppercase included). */
export function fromHex(hex: string): Uint8Array | null {
  return /[A-F]/.test(hex) ? null : decodeOrNull(hexToBytes, hex);
}

/** Decodes canonical padded base64 (RFC 4648 §3.5: zero pad bits); null on anything else. */
export function fromBase64(text: string): Uint8Array | null {
  return decodeOrNull(base64ToBytes, text);
}

/** Equality of two byte strings (not constant-time: only for public values such as key IDs). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
