import type { ZodError } from "zod";

/**
 * The closed set of error codes the API can answer with, and the HTTP status of each.
 * This table is the only place a code is mapped to a status.
 */
export const ERROR_STATUS = {
  bad_request: 400,
  invalid_json: 400,
  validation_failed: 400,
  unauthorized: 401,
  forbidden: 403,
  https_required: 403,
  tls_version_unsupported: 403,
  acl_denied: 403,
  /** The role, the ACL's `use` permission or the credential's use policy refuses a proxied call. */
  use_denied: 403,
  /** An operator suspended the tenant (issue 13 §3): every tenant caller is refused until reactivated. */
  tenant_suspended: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  /** An Idempotency-Key reused with a different request (durable-objects/idempotency.ts). */
  idempotency_mismatch: 422,
  rate_limited: 429,
  internal: 500,
  /** The credential proxy's upstream could not be reached, or answered more than the policy allows. */
  upstream_error: 502,
  /** Stored state disagrees with the tenant's Durable Object (e.g. a version rolled back in D1). */
  integrity_error: 500,
  kms_unavailable: 503,
  unavailable: 503,
  misconfigured: 503,
  /** The credential proxy's upstream did not answer within the policy's timeout. */
  upstream_timeout: 504,
} as const;

/** One of the API's error codes. */
export type ErrorCode = keyof typeof ERROR_STATUS;

/** The error body every failing response carries. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; request_id: string };
}

/**
 * The project's single error class. Its message is written for the client: it must never
 * carry a secret value, a raw token or key material.
 */
export class VaultError extends Error {
  override readonly name = "VaultError";
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }

  /** The HTTP status this error answers with. */
  get status(): (typeof ERROR_STATUS)[ErrorCode] {
    return ERROR_STATUS[this.code];
  }

  /** A plain, structured-clone-safe form for crossing the Durable Object RPC boundary. */
  toWire(): WireError {
    return { code: this.code, message: this.message };
  }

  /** Rebuilds the error on the caller's side of an RPC. */
  static fromWire(wire: WireError): VaultError {
    return new VaultError(wire.code, wire.message);
  }
}

/** A VaultError as it travels over RPC. */
export interface WireError {
  code: ErrorCode;
  message: string;
}

/**
 * Turns a zod failure into a message a person can act on: the first few issues, each with
 * the path it concerns. Never echoes the rejected input, which could be a secret.
 */
export function describeZodError(error: ZodError, where: string): string {
  const parts = error.issues.slice(0, 5).map((issue) => {
    const path = issue.path.length > 0 ? issue.path.join(".") : where;
    // A refused record key: say why (its own schema's message), not only "Invalid key in record".
    const why = issue.code === "invalid_key" ? (issue.issues[0]?.message ?? issue.message) : issue.message;
    return `${path}: ${why}`;
  });
  const more = error.issues.length > 5 ? ` (and ${error.issues.length - 5} more)` : "";
  return `invalid ${where}: ${parts.join("; ")}${more}`;
}
