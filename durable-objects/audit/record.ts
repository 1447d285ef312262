import type { AuditActor, AuditOutcome, AuditTarget } from "../../worker/audit/entry";
import type { JsonValue } from "../../worker/audit/canonical-json";
import type { Agent } from "../../worker/schemas/leases";
import type { Actor, VaultContext } from "../vault-context";
import { appendAudit } from "./append";

/** The actor of events no request caused (alarm-driven expiry, sweeps). */
export const SYSTEM_ACTOR: AuditActor = { identity: "system" };

/** The actor of a request whose token was refused: nobody we could authenticate. */
export const ANONYMOUS_ACTOR: AuditActor = { identity: "anonymous" };

/** An event to record for the tenant. */
export interface Recorded {
  type: string;
  target: AuditTarget | null;
  outcome?: AuditOutcome;
  details?: { [key: string]: JsonValue };
  agent?: Agent | null;
  /** The request, when there is no authenticated actor to carry it (authentication failures). */
  requestId?: string;
}

/** The audit form of an authenticated actor: identity and token id, never the token. */
export function auditActor(actor: Actor, agent?: Agent | null): AuditActor {
  return { identity: actor.identity, token_id: actor.tokenId, ...(agent ? { agent } : {}) };
}

/**
 * Appends one entry for `actor` (or the system). Call inside the `transactionSync` of the state
 * change it records; on its own it is a transaction by itself.
 */
export function record(ctx: VaultContext, actor: Actor | null | "anonymous", event: Recorded): void {
  appendAudit(ctx.sql, ctx.tenantId, {
    type: event.type,
    actor: actor === "anonymous" ? ANONYMOUS_ACTOR : actor ? auditActor(actor, event.agent) : SYSTEM_ACTOR,
    target: event.target,
    outcome: event.outcome ?? "success",
    request_id: (typeof actor === "object" ? actor?.requestId : undefined) ?? event.requestId ?? null,
    details: event.details ?? {},
    at: ctx.now(),
  });
}

/** A credential as an audit target. */
export function credentialTarget(id: string, version?: number): AuditTarget {
  return version === undefined ? { kind: "credential", id } : { kind: "credential", id, version };
}

/**
 * Records the entry for a change already written to D1, which cannot share the Durable Object's
 * transaction. If the entry cannot be written, `undo` puts D1 back and the error propagates:
 * fail closed, nothing changed. `alsoInObject` writes the object's own state of the change (the
 * credential head) in the same transaction as the entry.
 */
export async function recordD1Change(ctx: VaultContext, actor: Actor, event: Recorded, undo: () => Promise<unknown>, alsoInObject?: () => void): Promise<void> {
  // Every credential write passes here right after it lands: the lease path's cache must forget.
  ctx.credentials.invalidate();
  try {
    ctx.storage.transactionSync(() => {
      alsoInObject?.();
      record(ctx, actor, event);
    });
  } catch (error) {
    try {
      await undo();
      ctx.credentials.invalidate();
    } catch (undoError) {
      console.error("could not undo a D1 change after an audit failure", { request_id: actor.requestId, error: String(undoError) });
    }
    throw error;
  }
}
