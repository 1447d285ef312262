/**
 * The shape of one audit log entry (DESIGN.md "Audit log") and the zod schema that checks it
 * wherever an entry crosses a boundary: before it is appended, and when it is read back from
 * storage or from an export for verification.
 */

import { z } from "zod";
import type { JsonValue } from "./canonical-json";

/**
 * Version of the entry format new entries are written with; part of the hashed bytes so a format
 * change cannot be replayed. The versions differ only in what `hash` is taken over (codec.ts
 * `entryHashInput`): v1 SHA-256(entry bytes); v2 SHA-256(0x00 ‖ entry bytes), which is the entry's
 * RFC 6962 Merkle leaf hash, so an entry is hashed once where v1 needed two hashes. Entries written
 * as v1 stay valid and verify as they always did.
 */
export const AUDIT_ENTRY_VERSION = 2;

/** Every entry version a verifier accepts. */
export type AuditEntryVersion = 1 | 2;

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
  readonly v: AuditEntryVersion;
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
  v: z.union([z.literal(1), z.literal(2)]),
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

const EVENT_TYPE = /^[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const ENTRY_KEYS = [
  "v",
  "tenant",
  "seq",
  "ts",
  "type",
  "actor",
  "target",
  "outcome",
  "request_id",
  "details",
  "prev_hash",
];
const ACTOR_KEYS = new Set(["identity", "token_id", "agent"]);
const AGENT_KEYS = new Set(["name", "model", "session", "tool", "host", "client", "client_version"]);
const TARGET_KEYS = new Set(["kind", "id", "version"]);

const isNonEmpty = (x: unknown): x is string => typeof x === "string" && x.length > 0;
const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);

/** Own keys all in `allowed`, and every optional one present is a non-empty string (agent fields, token_id). */
function onlyKeys(o: Record<string, unknown>, allowed: ReadonlySet<string>): boolean {
  for (const key in o) if (!allowed.has(key) || !Object.hasOwn(o, key)) return false;
  return true;
}

/**
 * Whether `e` passes {@link auditEntrySchema}, checked by hand: the append path builds one entry
 * per request, and zod's object parsing without `eval` (workerd forbids it) cost more than the
 * rest of building it (issue 16). Conservative: `true` only when the schema would accept `e`
 * (test/workers/audit/entry-check.test.ts compares the two), `false` sends the caller to the schema
 * for its error. Details are only checked to be an object here: their values are JSON exactly when
 * RFC 8785 canonicalisation, which every caller runs next, accepts them.
 */
export function looksLikeAuditEntry(e: unknown): e is AuditEntry {
  if (!isRecord(e) || Object.keys(e).length !== ENTRY_KEYS.length) return false;
  for (const key of ENTRY_KEYS) if (!Object.hasOwn(e, key)) return false;
  const { actor, target, ts } = e;
  if ((e.v !== 1 && e.v !== 2) || !isNonEmpty(e.tenant) || !Number.isSafeInteger(e.seq) || (e.seq as number) < 1)
    return false;
  // Exactly what toISOString writes for years 0000–9999: a real calendar instant, UTC, milliseconds.
  if (
    typeof ts !== "string" ||
    ts.length !== 24 ||
    Number.isNaN(Date.parse(ts)) ||
    auditTimestamp(Date.parse(ts)) !== ts
  )
    return false;
  if (typeof e.type !== "string" || !EVENT_TYPE.test(e.type)) return false;
  if (!isRecord(actor) || !onlyKeys(actor, ACTOR_KEYS) || !isNonEmpty(actor.identity)) return false;
  if ("token_id" in actor && !isNonEmpty(actor.token_id)) return false;
  if ("agent" in actor) {
    const agent = actor.agent;
    if (!isRecord(agent) || !onlyKeys(agent, AGENT_KEYS)) return false;
    for (const key in agent) if (!isNonEmpty(agent[key])) return false;
  }
  if (target !== null) {
    if (!isRecord(target) || !onlyKeys(target, TARGET_KEYS) || !isNonEmpty(target.kind) || !isNonEmpty(target.id))
      return false;
    if ("version" in target && !(Number.isSafeInteger(target.version) && (target.version as number) >= 0)) return false;
  }
  if (e.outcome !== "success" && e.outcome !== "denied" && e.outcome !== "error") return false;
  if (e.request_id !== null && !isNonEmpty(e.request_id)) return false;
  if (!isRecord(e.details)) return false;
  return typeof e.prev_hash === "string" && SHA256_HEX.test(e.prev_hash);
}

/** Formats an instant the way {@link AuditEntry.ts} requires (RFC 3339, UTC, milliseconds). */
export function auditTimestamp(at: Date | number): string {
  return new Date(at).toISOString();
}
