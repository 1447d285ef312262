import { KmsApiError } from "./errors";

/**
 * The emulator's ciphertext blob: `0x01 | iv(12) | ciphertext | tag(16)`, AES-256-GCM under
 * the root key. Its own format, not AWS's: callers must treat KMS blobs as opaque anyway.
 */

const VERSION = 0x01;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const LABEL = new TextEncoder().encode("ghostvault-kms-emulator/v1");

/**
 * The AES-GCM additional data: a label, the key id and the encryption context as
 * length-prefixed (u32 big-endian) UTF-8 pairs sorted by key. AWS binds the context the same
 * way in spirit: Decrypt with any other context, even one pair more or less, must fail.
 */
export function contextAad(keyId: string, context: Record<string, string>): Uint8Array {
  const encoder = new TextEncoder();
  // Default sort compares UTF-16 code units: deterministic, which is all canonical needs here.
  const keys = Object.keys(context).sort();
  const parts: Uint8Array[] = [LABEL, lengthPrefixed(encoder.encode(keyId)), u32(keys.length)];
  for (const key of keys) {
    parts.push(lengthPrefixed(encoder.encode(key)), lengthPrefixed(encoder.encode(context[key] ?? "")));
  }
  return concat(parts);
}

/** Encrypts `plaintext` under the root key, bound to `aad`. */
export async function sealBlob(rootKey: CryptoKey, plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: aad }, rootKey, plaintext);
  return concat([Uint8Array.of(VERSION), iv, new Uint8Array(sealed)]);
}

/**
 * Decrypts a blob made by `sealBlob`. Every failure (wrong version, truncated, wrong context,
 * tampered) is the same InvalidCiphertextException, as AWS answers, so nothing tells which.
 */
export async function openBlob(rootKey: CryptoKey, blob: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
  if (blob.length < 1 + IV_BYTES + TAG_BYTES || blob[0] !== VERSION) throw invalidCiphertext();
  try {
    const iv = blob.subarray(1, 1 + IV_BYTES);
    const opened = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv, additionalData: aad },
      rootKey,
      blob.subarray(1 + IV_BYTES),
    );
    return new Uint8Array(opened);
  } catch {
    throw invalidCiphertext();
  }
}

function invalidCiphertext(): KmsApiError {
  return new KmsApiError(
    "InvalidCiphertextException",
    "The ciphertext is invalid or was not made with this encryption context.",
  );
}

function u32(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n);
  return out;
}

function lengthPrefixed(bytes: Uint8Array): Uint8Array {
  return concat([u32(bytes.length), bytes]);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
