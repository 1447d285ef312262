/**
 * The credential context of format v1 (DESIGN.md "Keys and ciphertext"): which tenant, credential
 * and version a ciphertext belongs to. Its canonical bytes are the AES-GCM additional data of both
 * envelope layers, so a blob moved to another row fails to open.
 */
import { concatBytes, u32be, utf8Encode } from "./encoding";

/** Which credential version a ciphertext belongs to; bound into both AADs. */
export interface CredentialContext {
  tenantId: string;
  credentialId: string;
  /** Credential version, a non-negative safe integer. */
  version: number;
}

function assertContext(ctx: CredentialContext): void {
  // Thrown as a plain Error, not DecryptionError: a malformed context is a caller bug, not a
  // property of the ciphertext, and must not be confused with a tampered blob.
  if (typeof ctx.tenantId !== "string" || ctx.tenantId.length === 0) throw new Error("invalid credential context");
  if (typeof ctx.credentialId !== "string" || ctx.credentialId.length === 0) {
    throw new Error("invalid credential context");
  }
  if (!Number.isSafeInteger(ctx.version) || ctx.version < 0) throw new Error("invalid credential context");
}

/**
 * Canonical bytes of a credential context: pairs sorted by key (`credential_id`, `tenant_id`,
 * `version`), each `u32be(len(key)) | key | u32be(len(value)) | value`, UTF-8, version in decimal.
 * Length prefixes make the encoding injective, so no two contexts share bytes.
 * @throws Error on an empty id, an id with an unpaired surrogate, or a version that is not a
 *   non-negative safe integer.
 */
export function encodeContext(ctx: CredentialContext): Uint8Array {
  assertContext(ctx);
  const pairs: [string, string][] = [
    ["tenant_id", ctx.tenantId],
    ["credential_id", ctx.credentialId],
    ["version", String(ctx.version)],
  ];
  // The keys are ASCII, so UTF-16 code-unit order (`<`) equals UTF-8 byte order.
  pairs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const parts: Uint8Array[] = [];
  for (const [key, value] of pairs) {
    const k = utf8Encode(key);
    const v = utf8Encode(value);
    parts.push(u32be(k.length), k, u32be(v.length), v);
  }
  return concatBytes(...parts);
}
