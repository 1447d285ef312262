import { DecryptionError } from "../worker/core/crypto";
import type { z } from "zod";
import { describeZodError, VaultError, type WireError } from "../worker/contract/errors";
import type { Outcome } from "../worker/contract/rpc";
import { KmsError } from "../worker/core/kms";
import { d1Message, isD1Unavailable } from "../worker/core/db/tenant-db";

/**
 * Maps anything an operation threw to the wire error the Worker will answer with. Known
 * failures keep their code; KMS trouble is a 503 with nothing half-written (each operation
 * calls the KMS before it writes); anything else is logged with the request id and becomes a
 * generic 500 whose message carries no detail.
 */
export function toWireError(error: unknown, requestId: string): WireError {
  if (error instanceof VaultError) return error.toWire();
  if (error instanceof KmsError) {
    console.warn("kms call failed", { request_id: requestId, kind: error.kind, message: error.message });
    return { code: "kms_unavailable", message: "the key management service is unavailable; retry later" };
  }
  if (isD1Unavailable(error)) {
    // Nothing half-written: a D1 change is applied only after its intent is in the outbox.
    console.warn("d1 call failed", { request_id: requestId, message: d1Message(error) });
    return { code: "unavailable", message: "the credential store is unavailable; retry later" };
  }
  if (error instanceof DecryptionError) {
    console.error("stored ciphertext failed to decrypt", { request_id: requestId });
    return { code: "internal", message: "internal error" };
  }
  console.error("unexpected error", {
    request_id: requestId,
    error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
  });
  return { code: "internal", message: "internal error" };
}

/** Runs an RPC entry point's work and turns whatever it threw into an Outcome (errors as data). */
export async function guard<T>(requestId: string, fn: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (error) {
    return { ok: false, error: toWireError(error, requestId) };
  }
}

/** Parses RPC input: a zod failure is a 400 `validation_failed` naming the fields, never a 500. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new VaultError("validation_failed", describeZodError(parsed.error, "request"));
  return parsed.data;
}
