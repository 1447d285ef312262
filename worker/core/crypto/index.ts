/**
 * The vault's crypto module: WebCrypto only, no third-party crypto. Import from here; the test
 * seam `sealCredentialValueWithFixedRandomnessForTestsOnly` is deliberately not re-exported.
 */
export {
  base64ToBytes,
  base64urlToBytes,
  bytesToBase64,
  bytesToBase64url,
  bytesToHex,
  concatBytes,
  decodeOrNull,
  hexToBytes,
  readU32be,
  u32be,
  U32_MAX,
  utf8Decode,
  utf8Encode,
} from "./encoding";
export {
  AES_GCM_IV_BYTES,
  AES_GCM_TAG_BYTES,
  aesGcmDecrypt,
  aesGcmEncrypt,
  HKDF_SHA256_MAX_BYTES,
  hkdfSha256,
  hkdfSha256AesKey,
  hmacSha256,
  importAesKey,
  importHkdfKey,
  importHmacKey,
  randomBytes,
  SHA256_BYTES,
  timingSafeEqual,
} from "./primitives";
export type { AesKeyUsage, HmacKeyUsage } from "./primitives";
export { sha256, sha256Hex } from "./sha256";
export {
  DECRYPTION_FAILED_MESSAGE,
  DecryptionError,
  DEK_BYTES,
  encodeContext,
  importTenantKek,
  KEK_BYTES,
  openCredentialValue,
  rewrapDek,
  sealCredentialValue,
  VALUE_BLOB_OVERHEAD_BYTES,
  WRAP_SALT_BYTES,
  WRAPPED_DEK_BYTES,
  wrappedDekKekVersion,
} from "./envelope";
export type { CredentialContext, SealedCredentialValue, TenantKek } from "./envelope";
