/**
 * Base64 as the AWS KMS JSON protocol encodes blobs: the project's strict codec
 * (worker/core/crypto/encoding.ts), because `atob` alone skips whitespace and accepts missing padding,
 * so a reply that is not canonical base64 would slip through as some other byte string.
 */
import { base64ToBytes, bytesToBase64 } from "../crypto/encoding";

/** Encodes bytes as padded standard base64. */
export const encodeBase64 = bytesToBase64;

/** Decodes canonical padded standard base64, or `undefined` for anything else. */
export function decodeBase64Strict(text: string): Uint8Array | undefined {
  try {
    return base64ToBytes(text);
  } catch {
    return undefined;
  }
}
