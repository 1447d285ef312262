/**
 * Envelope encryption of credential values, format v1 (DESIGN.md "Keys and ciphertext").
 *
 *   value blob  = "GV" | 0x01 | iv(12) | ciphertext | tag(16)
 *                 AES-256-GCM under the DEK, AAD = "gv/value/v1" | ctx
 *   wrapped DEK = "GW" | 0x01 | kek_version(u32be) | salt(16) | iv(12) | encDEK(32) | tag(16)
 *                 AES-256-GCM under HKDF-SHA256(KEK, salt, "gv/wrap/v1"),
 *                 AAD = "gv/wrap/v1" | ctx | u32be(kek_version)
 *
 * `ctx` (see {@link encodeContext}) is rebuilt by the caller from the database row, never read
 * from the blob, so a blob copied to another tenant, credential or version fails to open.
 */
import { encodeContext, type CredentialContext } from "./context";
import { concatBytes, readU32be, U32_MAX, u32be, utf8Encode } from "./encoding";
import {
  AES_GCM_IV_BYTES,
  AES_GCM_TAG_BYTES,
  aesGcmDecrypt,
  aesGcmEncrypt,
  hkdfSha256AesKey,
  importAesKey,
  importHkdfKey,
  randomBytes,
} from "./primitives";

export { encodeContext, type CredentialContext } from "./context";

/** Byte length of a DEK (AES-256 key), one per credential version. */
export const DEK_BYTES = 32;
/** Byte length of a tenant KEK as it comes out of the KMS. */
export const KEK_BYTES = 32;
/** Byte length of the per-wrap HKDF salt. */
export const WRAP_SALT_BYTES = 16;

const FORMAT_V1 = 0x01;
const VALUE_MAGIC = [0x47, 0x56] as const; // "GV"
const WRAP_MAGIC = [0x47, 0x57] as const; // "GW"
const HEADER_BYTES = 3; // magic(2) | format version(1)
const KEK_VERSION_BYTES = 4;

/** Bytes a value blob adds to its plaintext: header, IV and tag. */
export const VALUE_BLOB_OVERHEAD_BYTES = HEADER_BYTES + AES_GCM_IV_BYTES + AES_GCM_TAG_BYTES;

/**
 * Exact length of a v1 wrapped DEK: 3 + 4 + 16 + 12 + 32 + 16 = 83 bytes. (DESIGN.md's "76 bytes"
 * counts only salt | iv | encDEK | tag, without the 7-byte header.)
 */
export const WRAPPED_DEK_BYTES =
  HEADER_BYTES + KEK_VERSION_BYTES + WRAP_SALT_BYTES + AES_GCM_IV_BYTES + DEK_BYTES + AES_GCM_TAG_BYTES;

const WRAP_SALT_OFFSET = HEADER_BYTES + KEK_VERSION_BYTES;
const WRAP_IV_OFFSET = WRAP_SALT_OFFSET + WRAP_SALT_BYTES;
const WRAP_BODY_OFFSET = WRAP_IV_OFFSET + AES_GCM_IV_BYTES;

// Domain-separation labels: the value and wrap layers can never accept each other's AAD.
const VALUE_LABEL = utf8Encode("gv/value/v1");
const WRAP_LABEL = utf8Encode("gv/wrap/v1");

/** The one message every decryption failure carries. */
export const DECRYPTION_FAILED_MESSAGE = "decryption failed";

/**
 * Every failure to open a value blob or wrapped DEK, whatever the cause (bad header, wrong length,
 * KEK version mismatch, wrong key, wrong context, tag mismatch). The message never varies and no
 * cause is attached: telling an attacker which check failed turns the vault into an oracle.
 */
export class DecryptionError extends Error {
  override readonly name = "DecryptionError";
  constructor() {
    super(DECRYPTION_FAILED_MESSAGE);
  }
}

/** A tenant KEK held as a non-extractable HKDF base key, with its KEK version. */
export interface TenantKek {
  readonly version: number;
  readonly key: CryptoKey;
}

/** What {@link sealCredentialValue} returns and {@link openCredentialValue} takes. */
export interface SealedCredentialValue {
  valueBlob: Uint8Array;
  wrappedDek: Uint8Array;
}

/**
 * The randomness a seal consumes. Only for {@link sealCredentialValueWithFixedRandomnessForTestsOnly}.
 */
export interface FixedSealRandomness {
  dek: Uint8Array;
  valueIv: Uint8Array;
  salt: Uint8Array;
  wrapIv: Uint8Array;
}

function assertKekVersion(version: number): void {
  if (!Number.isInteger(version) || version < 0 || version > U32_MAX) throw new Error("invalid KEK version");
}

// The public functions encode the context once, up front, so a malformed one throws its plain
// Error before any decryption starts (and is never turned into a DecryptionError below).
function valueAad(ctxBytes: Uint8Array): Uint8Array {
  return concatBytes(VALUE_LABEL, ctxBytes);
}

function wrapAad(ctxBytes: Uint8Array, kekVersion: number): Uint8Array {
  return concatBytes(WRAP_LABEL, ctxBytes, u32be(kekVersion));
}

function hasHeader(blob: Uint8Array, magic: readonly [number, number]): boolean {
  return blob.length >= HEADER_BYTES && blob[0] === magic[0] && blob[1] === magic[1] && blob[2] === FORMAT_V1;
}

/**
 * Imports a tenant KEK (32 bytes, unwrapped by the KMS) as a non-extractable HKDF key.
 * WebCrypto copies the bytes; zero-filling `raw` afterwards is the caller's job.
 * @throws Error unless `raw` is 32 bytes and `version` an integer in [0, 2^32 - 1].
 */
export async function importTenantKek(raw: Uint8Array, version: number): Promise<TenantKek> {
  if (raw.length !== KEK_BYTES) throw new Error("tenant KEK must be 32 bytes");
  assertKekVersion(version);
  return { version, key: await importHkdfKey(raw) };
}

/**
 * Reads the KEK version from a wrapped DEK's header, so a caller can pick the KEK to open it with.
 * @throws DecryptionError unless the input is exactly a v1 wrapped DEK in size and header.
 */
export function wrappedDekKekVersion(wrappedDek: Uint8Array): number {
  if (wrappedDek.length !== WRAPPED_DEK_BYTES || !hasHeader(wrappedDek, WRAP_MAGIC)) throw new DecryptionError();
  return readU32be(wrappedDek, HEADER_BYTES);
}

async function wrapDek(
  dek: Uint8Array,
  kek: TenantKek,
  ctxBytes: Uint8Array,
  salt: Uint8Array,
  iv: Uint8Array,
): Promise<Uint8Array> {
  assertKekVersion(kek.version);
  if (dek.length !== DEK_BYTES) throw new Error("DEK must be 32 bytes");
  if (salt.length !== WRAP_SALT_BYTES) throw new Error("wrap salt must be 16 bytes");
  // A fresh salt per wrap gives each wrap its own AES key, so the KEK never approaches the 2^32
  // random-nonce limit of one GCM key (NIST SP 800-38D §8.3).
  const wrapKey = await hkdfSha256AesKey(kek.key, salt, WRAP_LABEL, ["encrypt"]);
  const sealed = await aesGcmEncrypt(wrapKey, iv, wrapAad(ctxBytes, kek.version), dek);
  return concatBytes(Uint8Array.from(WRAP_MAGIC), Uint8Array.of(FORMAT_V1), u32be(kek.version), salt, iv, sealed);
}

/** Returns the raw DEK; the caller zeroes it. Every failure is a DecryptionError. */
async function unwrapDek(wrappedDek: Uint8Array, kek: TenantKek, ctxBytes: Uint8Array): Promise<Uint8Array> {
  if (wrappedDekKekVersion(wrappedDek) !== kek.version) throw new DecryptionError();
  try {
    const salt = wrappedDek.subarray(WRAP_SALT_OFFSET, WRAP_IV_OFFSET);
    const wrapKey = await hkdfSha256AesKey(kek.key, salt, WRAP_LABEL, ["decrypt"]);
    const iv = wrappedDek.subarray(WRAP_IV_OFFSET, WRAP_BODY_OFFSET);
    return await aesGcmDecrypt(wrapKey, iv, wrapAad(ctxBytes, kek.version), wrappedDek.subarray(WRAP_BODY_OFFSET));
  } catch {
    throw new DecryptionError();
  }
}

async function sealWith(
  fixed: FixedSealRandomness,
  plaintext: Uint8Array,
  kek: TenantKek,
  ctx: CredentialContext,
): Promise<SealedCredentialValue> {
  const ctxBytes = encodeContext(ctx);
  if (fixed.dek.length !== DEK_BYTES) throw new Error("DEK must be 32 bytes");
  const dekKey = await importAesKey(fixed.dek, ["encrypt"]);
  const sealed = await aesGcmEncrypt(dekKey, fixed.valueIv, valueAad(ctxBytes), plaintext);
  const valueBlob = concatBytes(Uint8Array.from(VALUE_MAGIC), Uint8Array.of(FORMAT_V1), fixed.valueIv, sealed);
  const wrappedDek = await wrapDek(fixed.dek, kek, ctxBytes, fixed.salt, fixed.wrapIv);
  return { valueBlob, wrappedDek };
}

/**
 * Encrypts one credential version's value under a fresh random DEK and wraps the DEK under the
 * tenant KEK. The DEK's raw bytes are zeroed before returning (best effort: WebCrypto keeps its
 * own copy inside the CryptoKey, which is dropped with it).
 * @throws Error on a malformed context or KEK version (never DecryptionError).
 */
export async function sealCredentialValue(
  plaintext: Uint8Array,
  kek: TenantKek,
  ctx: CredentialContext,
): Promise<SealedCredentialValue> {
  const dek = randomBytes(DEK_BYTES);
  try {
    return await sealWith(
      {
        dek,
        valueIv: randomBytes(AES_GCM_IV_BYTES),
        salt: randomBytes(WRAP_SALT_BYTES),
        wrapIv: randomBytes(AES_GCM_IV_BYTES),
      },
      plaintext,
      kek,
      ctx,
    );
  } finally {
    dek.fill(0);
  }
}

/**
 * TESTS AND GOLDEN VECTORS ONLY. {@link sealCredentialValue} with caller-chosen DEK, IVs and salt,
 * so committed format-v1 vectors can be rebuilt byte for byte. Reusing a DEK/IV pair with this
 * destroys GCM's confidentiality and integrity (SP 800-38D §8); production code must never call it,
 * which is why `index.ts` does not re-export it. It does not zero `fixed.dek`.
 */
export async function sealCredentialValueWithFixedRandomnessForTestsOnly(
  fixed: FixedSealRandomness,
  plaintext: Uint8Array,
  kek: TenantKek,
  ctx: CredentialContext,
): Promise<SealedCredentialValue> {
  return sealWith(fixed, plaintext, kek, ctx);
}

/**
 * Decrypts a value sealed by {@link sealCredentialValue} for exactly this context and KEK. The
 * returned plaintext belongs to the caller, who should zero it when done.
 * @throws DecryptionError on every failure to open, with the same message.
 * @throws Error on a malformed context (a caller bug, checked before any ciphertext is read).
 */
export async function openCredentialValue(
  sealed: SealedCredentialValue,
  kek: TenantKek,
  ctx: CredentialContext,
): Promise<Uint8Array> {
  const ctxBytes = encodeContext(ctx);
  checkValueBlob(sealed.valueBlob);
  return openValueBlob(sealed.valueBlob, await dekKey(sealed.wrappedDek, kek, ctxBytes), ctxBytes);
}

/**
 * Unwraps one credential version's DEK as a non-extractable AES-GCM key that can only decrypt,
 * so a caller may keep it in memory (the same exposure class as the cached KEK, which is also a
 * non-extractable CryptoKey) and skip the HKDF and unwrap on later opens of that version.
 * @throws DecryptionError on every failure to unwrap, with the same message.
 */
export async function unwrapDekKey(wrappedDek: Uint8Array, kek: TenantKek, ctx: CredentialContext): Promise<CryptoKey> {
  return dekKey(wrappedDek, kek, encodeContext(ctx));
}

/**
 * Decrypts a value blob with a DEK from {@link unwrapDekKey} unwrapped for exactly this context:
 * the value's AAD binds the context too, so a DEK of another credential or version fails here.
 * @throws DecryptionError on every failure to open, with the same message.
 */
export async function openCredentialValueWithDek(
  valueBlob: Uint8Array,
  dek: CryptoKey,
  ctx: CredentialContext,
): Promise<Uint8Array> {
  const ctxBytes = encodeContext(ctx);
  checkValueBlob(valueBlob);
  return openValueBlob(valueBlob, dek, ctxBytes);
}

function checkValueBlob(valueBlob: Uint8Array): void {
  if (valueBlob.length < VALUE_BLOB_OVERHEAD_BYTES || !hasHeader(valueBlob, VALUE_MAGIC)) throw new DecryptionError();
}

/** The raw DEK unwrapped, imported as a non-extractable decrypt-only key and zeroed. */
async function dekKey(wrappedDek: Uint8Array, kek: TenantKek, ctxBytes: Uint8Array): Promise<CryptoKey> {
  const dek = await unwrapDek(wrappedDek, kek, ctxBytes);
  try {
    return await importAesKey(dek, ["decrypt"]);
  } catch {
    throw new DecryptionError();
  } finally {
    dek.fill(0);
  }
}

async function openValueBlob(valueBlob: Uint8Array, dek: CryptoKey, ctxBytes: Uint8Array): Promise<Uint8Array> {
  try {
    const iv = valueBlob.subarray(HEADER_BYTES, HEADER_BYTES + AES_GCM_IV_BYTES);
    return await aesGcmDecrypt(dek, iv, valueAad(ctxBytes), valueBlob.subarray(HEADER_BYTES + AES_GCM_IV_BYTES));
  } catch {
    throw new DecryptionError();
  }
}

/**
 * KEK rotation: unwraps a DEK under `from` and wraps it under `to` with a fresh salt and IV. The
 * value blob is untouched, since the DEK does not change.
 * @throws DecryptionError if `wrappedDek` does not open under `from` for this context.
 * @throws Error on a malformed context or `to` KEK version.
 */
export async function rewrapDek(
  wrappedDek: Uint8Array,
  from: TenantKek,
  to: TenantKek,
  ctx: CredentialContext,
): Promise<Uint8Array> {
  const ctxBytes = encodeContext(ctx);
  assertKekVersion(to.version);
  const dek = await unwrapDek(wrappedDek, from, ctxBytes);
  try {
    return await wrapDek(dek, to, ctxBytes, randomBytes(WRAP_SALT_BYTES), randomBytes(AES_GCM_IV_BYTES));
  } finally {
    dek.fill(0);
  }
}
