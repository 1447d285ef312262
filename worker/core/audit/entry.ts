/**
 * The shape of one audit log entry (DESIGN.md "Audit log") and the zod schema that checks it
 * wherever an entry crosses a boundary: before it is appended, and when it is read back from
 * storage or from an export for verification.
 */

import { z } from "zod";
import type { JsonValue } from "./canonical-json";

/** Version of the entry format; part of the hashed bytes so a format change cannot be replayed. */
export const AUDIT_ENTRY_VERSION = 1;

/** What happened to the operation an entry records. Denials and errors are recorded too. */
export type AuditOutcome = "success" | "denied" | "error";

/** The agent that asked for an operation, as declared in the request (not authenticated). */
export interface AuditAgent {
  readonly name?: string;
  readonly model?: string;
  readonly session?: string;
  readonly tool?: string;
  readonly host?: string;
  readonly client?: string;
  readonly client_version?: string;
}

/** Who performed an operation. Tokens appear by id only, never the token itself. */
export interface AuditActor {
  /** Authenticated identity, or a fixed name such as "system" for alarm-driven events. */
  readonly identity: string;
  readonly token_id?: string;
  readonly agent?: AuditAgent;
}

/** What an operation acted on, e.g. `{ kind: "credential", id: "cred_…", version: 3 }`. */
export interface AuditTarget {
  readonly kind: string;
  readonly id: string;
  readonly version?: number;
}

/**
 * One audit entry. Its RFC 8785 canonical JSON is what gets hashed; member names are snake_case
 * because they are part of that byte format and of the JSON Lines export.
 */
export interface AuditEntry {
  readonly v: typeof AUDIT_ENTRY_VERSION;
  readonly tenant: string;
  /** 1 for the tenant's first entry, then +1 with no gaps. */
  readonly seq: number;
  /** RFC 3339 UTC timestamp with milliseconds, as `Date.prototype.toISOString` writes it. */
  readonly ts: string;
  /** Event type from the event catalog, dotted lowercase (`lease.created`). */
  readonly type: string;
  readonly actor: AuditActor;
  readonly target: AuditTarget | null;
  readonly outcome: AuditOutcome;
  /** Request that caused the entry; null for events with no request (alarm-driven expiry). */
  readonly request_id: string | null;
  /** Event-specific fields. Never a secret value, raw token or key; see `hmacField`. */
  readonly details: { readonly [key: string]: JsonValue };
  /** Lowercase hex SHA-256 of the previous entry, or the tenant's genesis hash for seq 1. */
  readonly prev_hash: string;
}

const nonEmpty = z.string().min(1);
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, "expected 64 lowercase hex characters");

const agentSchema = z.strictObject({
  name: nonEmpty.optional(),
  model: nonEmpty.optional(),
  session: nonEmpty.optional(),
  tool: nonEmpty.optional(),
  host: nonEmpty.optional(),
  client: nonEmpty.optional(),
  client_version: nonEmpty.optional(),
});

/**
 * Validates an {@link AuditEntry}. Objects are strict so that a field added in storage (an
 * insertion attack, or a schema drift) is reported instead of silently hashed.
 */
export const auditEntrySchema = z.strictObject({
  v: z.literal(AUDIT_ENTRY_VERSION),
  tenant: nonEmpty,
  seq: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  // RFC 3339 §5.6 date-time in UTC with exactly three fractional digits, so one instant has one
  // spelling and the hashed bytes do not depend on how a caller formatted it.
  ts: z.iso.datetime({ precision: 3 }),
  type: z.string().regex(/^[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+$/, "expected a dotted event type"),
  actor: z.strictObject({
    identity: nonEmpty,
    token_id: nonEmpty.optional(),
    agent: agentSchema.optional(),
  }),
  target: z.strictObject({ kind: nonEmpty, id: nonEmpty, version: z.number().int().min(0).optional() }).nullable(),
  outcome: z.enum(["success", "denied", "error"]),
  request_id: nonEmpty.nullable(),
  details: z.record(z.string(), z.json()),
  prev_hash: sha256Hex,
}) satisfies z.ZodType<AuditEntry>;

/** Formats an instant the way {@link AuditEntry.ts} requires (RFC 3339, UTC, milliseconds). */
export function auditTimestamp(at: Date | number): string {
  return new Date(at).toISOString();
}
