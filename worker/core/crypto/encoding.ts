/**
 * Byte encodings used by the crypto module and its test vectors.
 *
 * Every decoder here is strict: input that is not the one canonical encoding of some byte string
 * throws a plain `Error`. Lenient decoders (atob skips whitespace, accepts missing padding and
 * non-zero trailing bits) make two different strings decode to the same bytes, which is how
 * signature and MAC comparisons on encoded forms go wrong.
 */

const HEX_DIGITS = "0123456789abcdef";
const HEX_CODES = Array.from(HEX_DIGITS, (d) => d.charCodeAt(0));
const BASE64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const BASE64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** Largest value a u32 field can hold. */
export const U32_MAX = 0xffff_ffff;

/** Lowercase hex of `bytes` (two digits per byte). */
export function bytesToHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += HEX_DIGITS[b >> 4]! + HEX_DIGITS[b & 0x0f]!;
  return out;
}

/**
 * Whether `hex` is exactly the lowercase hex of `bytes`, compared character by character without
 * building the string (the audit verify loop does this once per entry). Not constant-time: for
 * public values such as hashes.
 */
export function isHexOf(bytes: Uint8Array, hex: string): boolean {
  if (hex.length !== bytes.length * 2) return false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (hex.charCodeAt(2 * i) !== HEX_CODES[b >> 4] || hex.charCodeAt(2 * i + 1) !== HEX_CODES[b & 0x0f]) return false;
  }
  return true;
}

/**
 * Decodes hex (either case, even length, no prefix, no whitespace).
 * @throws Error on any other input.
 */
export function hexToBytes(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new Error("invalid hex");
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function encodeBase64With(bytes: Uint8Array, alphabet: string, pad: boolean): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const rest = bytes.length - i;
    const n = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += alphabet[(n >> 18) & 63]! + alphabet[(n >> 12) & 63]!;
    out += rest > 1 ? alphabet[(n >> 6) & 63]! : pad ? "=" : "";
    out += rest > 2 ? alphabet[n & 63]! : pad ? "=" : "";
  }
  return out;
}

function decodeBase64With(text: string, alphabet: string, padded: boolean, name: string): Uint8Array {
  let body = text;
  if (padded) {
    // RFC 4648 §4: padded base64 always has a length that is a multiple of 4.
    if (text.length % 4 !== 0) throw new Error(`invalid ${name}`);
    if (text.endsWith("==")) body = text.slice(0, -2);
    else if (text.endsWith("=")) body = text.slice(0, -1);
  }
  // A final group of one character cannot encode a whole byte.
  if (body.length % 4 === 1) throw new Error(`invalid ${name}`);
  const values = new Uint8Array(body.length);
  for (let i = 0; i < body.length; i++) {
    const v = alphabet.indexOf(body[i]!);
    if (v < 0) throw new Error(`invalid ${name}`);
    values[i] = v;
  }
  const out = new Uint8Array(Math.floor((body.length * 3) / 4));
  let o = 0;
  for (let i = 0; i < body.length; i += 4) {
    const n = (values[i]! << 18) | (values[i + 1]! << 12) | ((values[i + 2] ?? 0) << 6) | (values[i + 3] ?? 0);
    out[o++] = (n >> 16) & 0xff;
    if (i + 2 < body.length) out[o++] = (n >> 8) & 0xff;
    if (i + 3 < body.length) out[o++] = n & 0xff;
  }
  // RFC 4648 §3.5: canonical encodings have zero pad bits; reject the aliases that do not.
  const tail = body.length % 4;
  const last = values[body.length - 1] ?? 0;
  if ((tail === 2 && (last & 0x0f) !== 0) || (tail === 3 && (last & 0x03) !== 0)) {
    throw new Error(`invalid ${name}`);
  }
  return out;
}

/** Standard base64 (RFC 4648 §4) with `=` padding. */
export function bytesToBase64(bytes: Uint8Array): string {
  return encodeBase64With(bytes, BASE64_ALPHABET, true);
}

/**
 * Decodes padded standard base64 (RFC 4648 §4), canonical form only.
 * @throws Error on missing/extra padding, whitespace, foreign characters or non-zero pad bits.
 */
export function base64ToBytes(text: string): Uint8Array {
  return decodeBase64With(text, BASE64_ALPHABET, true, "base64");
}

/** URL-safe base64 (RFC 4648 §5) without padding, as JOSE (RFC 7515 §2) uses it. */
export function bytesToBase64url(bytes: Uint8Array): string {
  return encodeBase64With(bytes, BASE64URL_ALPHABET, false);
}

/**
 * Decodes unpadded base64url (RFC 4648 §5, RFC 7515 §2), canonical form only.
 * @throws Error on padding, `+` or `/`, whitespace or non-zero pad bits.
 */
export function base64urlToBytes(text: string): Uint8Array {
  return decodeBase64With(text, BASE64URL_ALPHABET, false, "base64url");
}

/**
 * Runs one of the strict decoders above, returning null instead of throwing: for parsers that
 * treat bad input as a verdict (a note that does not verify, a KMS reply that fails its schema)
 * rather than an exception.
 */
export function decodeOrNull(decode: (text: string) => Uint8Array, text: string): Uint8Array | null {
  try {
    return decode(text);
  } catch {
    return null;
  }
}

// Unpaired UTF-16 surrogates: TextEncoder silently turns each into U+FFFD (WHATWG Encoding §9.1),
// so two different strings would encode to the same bytes. No `u` flag, so it sees code units.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const UTF8_ENCODER = new TextEncoder();
const UTF8_DECODER = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * UTF-8 bytes of `text`.
 * @throws Error if `text` holds an unpaired surrogate (it has no UTF-8 encoding of its own).
 */
export function utf8Encode(text: string): Uint8Array {
  if (LONE_SURROGATE.test(text)) throw new Error("invalid utf-16: unpaired surrogate");
  return UTF8_ENCODER.encode(text);
}

/**
 * Decodes UTF-8; a leading BOM is kept as U+FEFF rather than stripped.
 * @throws Error on malformed UTF-8 (the decoder is `fatal`, never substitutes U+FFFD).
 */
export function utf8Decode(bytes: Uint8Array): string {
  try {
    return UTF8_DECODER.decode(bytes);
  } catch {
    throw new Error("invalid utf-8");
  }
}

/** One new array holding `parts` back to back. */
export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/**
 * 4-byte big-endian encoding of `n`.
 * @throws Error unless `n` is an integer in [0, 2^32 - 1].
 */
export function u32be(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > U32_MAX) throw new Error("u32 out of range");
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n, false);
  return out;
}

/**
 * Reads a big-endian u32 at `offset`.
 * @throws Error if fewer than 4 bytes are available there.
 */
export function readU32be(bytes: Uint8Array, offset: number): number {
  if (!Number.isInteger(offset) || offset < 0 || offset + 4 > bytes.length) {
    throw new Error("u32 read out of bounds");
  }
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(offset, false);
}
