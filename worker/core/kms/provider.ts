/**
 * The KMS seam of the vault: everything above this interface deals in tenant KEKs, never in
 * a particular cloud's API. See DESIGN.md "Keys and ciphertext" and "KMS providers".
 */

/** Which tenant KEK a KMS call is about; it becomes the KMS encryption context. */
export interface KekContext {
  tenantId: string;
  kekVersion: number;
}

/**
 * The encryption context a tenant KEK is wrapped under. KMS binds it to the ciphertext, so a
 * wrapped KEK copied to another tenant's or version's row cannot be unwrapped there.
 */
export function kekEncryptionContext(ctx: KekContext): Record<string, string> {
  // Checked here rather than trusted: an empty tenant id or a fractional version would give a
  // context that collides with, or cannot be rebuilt from, a database row.
  if (ctx.tenantId.length === 0) throw new RangeError("KekContext.tenantId must not be empty");
  if (!Number.isSafeInteger(ctx.kekVersion) || ctx.kekVersion < 1) {
    throw new RangeError("KekContext.kekVersion must be a positive integer");
  }
  return { tenant_id: ctx.tenantId, kek_version: String(ctx.kekVersion), purpose: "tenant-kek" };
}

/**
 * The same context as bytes, for KMS APIs that take additional authenticated data rather than
 * string pairs (GCP `additionalAuthenticatedData`, the Azure envelope's AES-GCM AAD). JSON of
 * the fixed-order object from `kekEncryptionContext`: deterministic, and a tenant id cannot
 * forge a field boundary because JSON escapes its quotes.
 */
export function kekContextBytes(ctx: KekContext): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(kekEncryptionContext(ctx)));
}

/** Generates and unwraps tenant KEKs. Implementations talk to one KMS (AWS, GCP, Azure, local). */
export interface KmsProvider {
  /** A fresh 32-byte KEK, both in plaintext and wrapped under the KMS root key with `ctx`. */
  generateKek(ctx: KekContext): Promise<{ plaintext: Uint8Array; wrapped: Uint8Array }>;
  /** Unwraps a KEK; fails with `KmsError` "refused" if `wrapped` was not made under `ctx`. */
  unwrapKek(wrapped: Uint8Array, ctx: KekContext): Promise<Uint8Array>;
  /**
   * Wraps the same KEK again under the provider's current root key version, keeping `ctx`: the
   * building block of root-key rotation (issue 13 §2). Uses the KMS's re-encrypt where it has
   * one (AWS), so the KEK never leaves the KMS; otherwise unwraps and wraps in memory.
   */
  rewrapKek(wrapped: Uint8Array, ctx: KekContext): Promise<Uint8Array>;
  /**
   * Wraps a KEK the caller already holds in plaintext under the current root key with `ctx`:
   * how a root-key move (another key id or provider, worker/core/kms/moving.ts) lands a KEK
   * opened under the previous root. The plaintext stays the caller's to zero.
   */
  wrapKek(plaintext: Uint8Array, ctx: KekContext): Promise<Uint8Array>;
}

/**
 * How a KMS call failed:
 * - `timeout`: no complete answer within the configured time;
 * - `unavailable`: network failure or a 5xx from the KMS;
 * - `throttled`: the KMS asked us to slow down (429, ThrottlingException, RESOURCE_EXHAUSTED);
 * - `malformed`: the KMS answered 2xx with something that is not a valid reply;
 * - `refused`: the KMS (or its token endpoint) understood and said no (bad ciphertext or
 *   context, access denied, bad credentials, ...).
 */
export type KmsErrorKind = "timeout" | "unavailable" | "throttled" | "malformed" | "refused";

/**
 * The one error a KMS provider throws. Its message names the operation and, for KMS-reported
 * errors, the provider's error code; it never carries key material, ciphertext or the KMS's own
 * free-text message (which a hostile endpoint could fill with anything).
 */
export class KmsError extends Error {
  override readonly name = "KmsError";
  constructor(
    readonly kind: KmsErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** Whether retrying the same call later may succeed. */
  get retryable(): boolean {
    return this.kind === "timeout" || this.kind === "unavailable" || this.kind === "throttled";
  }
}
