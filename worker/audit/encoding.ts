/**
 * Byte encodings for the audit log: lowercase hex for entry hashes, standard padded base64
 * (RFC 4648 §4) for the C2SP note formats.
 *
 * Kept local to worker/audit so the audit building blocks stand alone (worker/crypto has an
 * equivalent module; the two can be merged once both have landed). Decoders are strict: a string
 * that is not the one canonical encoding of some bytes is rejected, because `atob` accepts
 * whitespace, missing padding and non-zero trailing bits, and two spellings of one signature
 * would make note parsing ambiguous.
 */

const HEX = "0123456789abcdef";
const BASE64_PADDED = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Lowercase hex of `bytes`, two digits per byte. */
export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += HEX[b >> 4]! + HEX[b & 0x0f]!;
  return out;
}

/**
 * Decodes lowercase hex of even length; returns null on anything else. Uppercase is refused so
 * that a hash has exactly one spelling and can be compared as a string.
 */
export function fromHex(hex: string): Uint8Array | null {
  if (hex.length % 2 !== 0 || !/^[0-9a-f]*$/.test(hex)) return null;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Standard, padded base64 of `bytes` (RFC 4648 §4). */
export function toBase64(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

/**
 * Decodes standard, padded base64 (RFC 4648 §4) and returns null unless `text` is the canonical
 * encoding of the result (RFC 4648 §3.5: pad bits must be zero).
 */
export function fromBase64(text: string): Uint8Array | null {
  if (!BASE64_PADDED.test(text)) return null;
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return toBase64(out) === text ? out : null;
}

/** Concatenates byte strings. */
export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Equality of two byte strings (not constant-time: only for public values such as key IDs). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** SHA-256 of `bytes` (FIPS 180-4) through WebCrypto. */
export async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}
