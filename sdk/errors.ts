import type { ErrorCode } from "../worker/contract/errors";

/**
 * Codes the SDK itself produces, beside the API's own (worker/contract/errors.ts `ERROR_STATUS`):
 * - `network_error`: no HTTP answer (connection refused or reset, DNS, TLS); status 0.
 * - `pin_mismatch`: the server's certificate chain matched no pin (sdk/node.ts); status 0.
 * - `invalid_response`: an answer that is not what the API's schema says; status as received.
 * - `http_error`: a failing status without the API's error body (a proxy's 502 page, say).
 * - `approval_pending`: an approve rule holds the lease (202); an `ApprovalPendingError` (sdk/requests.ts).
 * - `approval_denied`, `approval_expired`, `approval_timeout`: how waiting for an approval ended without one.
 */
export type ClientErrorCode =
  | "network_error"
  | "pin_mismatch"
  | "invalid_response"
  | "http_error"
  | "approval_pending"
  | "approval_denied"
  | "approval_expired"
  | "approval_timeout";

/** Every code a {@link VaultError} can carry. */
export type VaultErrorCode = ErrorCode | ClientErrorCode;

/** Options for {@link VaultError}. */
export interface VaultErrorOptions {
  /** HTTP status; 0 when no HTTP answer was received. */
  status: number;
  /** The server's request id (from the error body or `X-Request-Id`), if there was an answer. */
  requestId?: string;
  /** For 429/503: how long the server asked the client to wait, in milliseconds. */
  retryAfterMs?: number;
  cause?: unknown;
}

/**
 * The one error class of the SDK: every failed call rejects with it. `code` is the API's error
 * code (`not_found`, `forbidden`, ...) or one of {@link ClientErrorCode}; `message` is the
 * server's, written for people, and never carries a secret value.
 */
export class VaultError extends Error {
  override readonly name = "VaultError";
  /** Machine-readable code; switch on this, not on the message. */
  readonly code: VaultErrorCode;
  /** HTTP status, or 0 for `network_error` and `pin_mismatch`. */
  readonly status: number;
  /** The request id to quote when reporting a problem, when the server answered. */
  readonly requestId: string | undefined;
  /** Delay the server asked for (Retry-After), in milliseconds. */
  readonly retryAfterMs: number | undefined;

  /** Builds an error; `options.cause` is kept as the standard `Error.cause`. */
  constructor(code: VaultErrorCode, message: string, options: VaultErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status;
    this.requestId = options.requestId;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** True when `error` is a {@link VaultError}, optionally with the given code. */
export function isVaultError(error: unknown, code?: VaultErrorCode): error is VaultError {
  return error instanceof VaultError && (code === undefined || error.code === code);
}
