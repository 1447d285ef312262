import { z } from "zod";
import { VaultError, type WireError } from "./errors";

/**
 * What the Worker sends the TenantVault for an authenticated operation: the raw token (the DO
 * authenticates it against its own storage, so revocation is immediate), the request id for
 * logs and audit, and the input (for an operation, its request's parts as received: the vault
 * validates them after authorising the caller, worker/contract/operations/spec.ts).
 */
export interface Call<I> {
  token: string;
  requestId: string;
  input: I;
  /** The client's IP (CF-Connecting-IP), so refusals of bad tokens are limited and summarised per IP. */
  ip?: string | null;
  /** The request's Idempotency-Key (POST only, as sent; the vault checks its shape); the vault replays its first outcome. */
  idempotencyKey?: string;
}

/**
 * What the TenantVault answers. Errors travel as data: an exception thrown across RPC loses its
 * class, and this keeps the error code closed and typed end to end.
 */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: WireError };

/** Returns the value of a successful outcome or throws its VaultError. */
export function unwrapOutcome<T>(outcome: Outcome<T>): T {
  if (outcome.ok) return outcome.value;
  throw VaultError.fromWire(outcome.error);
}

/** An Idempotency-Key header's value: 1–128 printable ASCII characters (durable-objects/idempotency.ts). */
export const IdempotencyKeySchema = z
  .string()
  .regex(/^[\x20-\x7e]{1,128}$/, "must be 1 to 128 printable ASCII characters");
