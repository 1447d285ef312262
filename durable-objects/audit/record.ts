import type { AuditActor, AuditOutcome, AuditTarget } from "../../worker/core/audit/entry";
import type { JsonValue } from "../../worker/core/audit/canonical-json";
import type { Agent } from "../../worker/contract/schemas/leases";
import type { VaultError } from "../../worker/contract/errors";
import type { Actor, VaultContext } from "../vault-context";
import { sha256HexSync } from "../../worker/core/crypto/sha256-sync";
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

/** Longest string an entry keeps as is (issue 9 §2). */
export const AUDIT_STRING_MAX = 256;
const KEPT_PREFIX = 128;

/**
 * A string bounded for the audit log: up to AUDIT_STRING_MAX characters it is kept; a longer one
 * (a 12 KB issuer, a pasted claim) becomes its first 128 characters, a marker and the SHA-256 of
 * the whole, `…[truncated N chars; sha256:<hex>]`, so entries stay small yet still identify it.
 */
export function boundAuditString(value: string): string {
  if (value.length <= AUDIT_STRING_MAX) return value;
  // Never cut a surrogate pair in half: a lone surrogate cannot be canonicalised.
  const cut = /[\uD800-\uDBFF]/.test(value[KEPT_PREFIX - 1]!) ? KEPT_PREFIX - 1 : KEPT_PREFIX;
  return `${value.slice(0, cut)}…[truncated ${value.length} chars; sha256:${sha256HexSync(value)}]`;
}

/** Bounds every string (keys included) in a JSON value; the one place entries are bounded. */
function bounded(value: JsonValue): JsonValue {
  if (typeof value === "string") return boundAuditString(value);
  if (Array.isArray(value)) return (value as readonly JsonValue[]).map(bounded);
  if (value !== null && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [boundAuditString(k), bounded(v as JsonValue)]));
  return value;
}

/**
 * Appends one entry for `actor` (or the system). Call inside the `transactionSync` of the state
 * change it records; on its own it is a transaction by itself.
 */
export function record(ctx: VaultContext, actor: Actor | null | "anonymous", event: Recorded): void {
  if (event.type === "integrity.violation") ctx.metrics.count("integrity_violations");
  try {
    append(ctx, actor, event);
  } catch (error) {
    // Counted in memory, so the count survives the rollback of the transaction it failed in.
    ctx.metrics.count("audit_append_failures");
    throw error;
  }
}

function append(ctx: VaultContext, actor: Actor | null | "anonymous", event: Recorded): void {
  appendAudit(
    ctx.sql,
    ctx.tenantId,
    {
      type: event.type,
      // Identities, agents and details may carry what a caller sent (claims, names, user agents).
      actor: bounded(
        (actor === "anonymous"
          ? ANONYMOUS_ACTOR
          : actor
            ? auditActor(actor, event.agent)
            : SYSTEM_ACTOR) as unknown as JsonValue,
      ) as unknown as AuditActor,
      target: event.target && { ...event.target, id: boundAuditString(event.target.id) },
      outcome: event.outcome ?? "success",
      request_id: (typeof actor === "object" ? actor?.requestId : undefined) ?? event.requestId ?? null,
      details: bounded(event.details ?? {}) as { [key: string]: JsonValue },
      at: ctx.now(),
    },
    ctx.audit,
  );
}

/** A credential as an audit target. */
export function credentialTarget(id: string, version?: number): AuditTarget {
  return version === undefined ? { kind: "credential", id } : { kind: "credential", id, version };
}

/**
 * Records a refusal of an authenticated caller (`outcome: "denied"`, the error's code and message
 * added to `details`) in its own transaction, then throws the error: the one way ops refuse.
 */
export function refuse(ctx: VaultContext, actor: Actor, event: Omit<Recorded, "outcome">, error: VaultError): never {
  ctx.storage.transactionSync(() =>
    record(ctx, actor, {
      ...event,
      outcome: "denied",
      details: { ...event.details, code: error.code, reason: error.message },
    }),
  );
  throw error;
}
