import { createHash, createHmac } from "node:crypto";
import { z } from "zod";
import { canonicalize } from "../../worker/core/audit/canonical-json";
import type { AuditFields } from "../../worker/core/audit/chain";
import { AUDIT_ENTRY_VERSION, auditEntrySchema, auditTimestamp, type AuditEntry } from "../../worker/core/audit/entry";
import { appendMerkleLeaf, MERKLE_BENCH_SKIP } from "./merkle-store";

/**
 * Appending to the tenant's audit chain, synchronously. node:crypto's SHA-256 is synchronous,
 * which lets an entry be built, hashed and inserted inside `transactionSync` together with the
 * state change it records: one SQLite transaction, no window in which another request could
 * take the same seq, and nothing written if either insert fails (fail closed).
 * The bytes and hashes are exactly worker/core/audit/chain.ts's (a test holds the two together).
 */

/** The chain's last entry. */
export interface AuditHead {
  seq: number;
  hash: string;
}

/** An event to record, without the fields the chain fills in. */
export type AuditEvent = Omit<AuditFields, "tenant" | "ts"> & { at: number };

const HeadRow = z.object({ seq: z.number().int(), hash: z.string() });

/** SHA-256 as lowercase hex, synchronously. */
export function sha256HexSync(data: string): string {
  return createHash("sha256").update(data, "utf8").digest("hex");
}

/** The tenant's genesis hash: SHA-256("gv-audit-genesis:" | tenant id). */
export function genesisHashSync(tenantId: string): string {
  return sha256HexSync(`gv-audit-genesis:${tenantId}`);
}

/** The last entry, read from storage (never cached: a rolled-back transaction must not leave a stale head). */
export function auditHead(sql: SqlStorage): AuditHead | null {
  const rows = sql.exec("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").toArray();
  return rows.length === 0 ? null : HeadRow.parse(rows[0]);
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/**
 * Appends one entry and returns it. Must run inside the caller's `transactionSync` when it
 * records a state change, so both land or neither does. Throws (and so aborts that transaction)
 * if the entry is invalid or cannot be written.
 */
export function appendAudit(sql: SqlStorage, tenantId: string, event: AuditEvent): { entry: AuditEntry; hash: string } {
  const head = auditHead(sql);
  const { at, ...fields } = event;
  const candidate = {
    v: AUDIT_ENTRY_VERSION,
    tenant: tenantId,
    seq: head ? head.seq + 1 : 1,
    ts: auditTimestamp(at),
    type: fields.type,
    actor: dropUndefined({ ...fields.actor, agent: fields.actor.agent && dropUndefined(fields.actor.agent) }),
    target: fields.target && dropUndefined(fields.target),
    outcome: fields.outcome,
    request_id: fields.request_id,
    details: fields.details,
    prev_hash: head ? head.hash : genesisHashSync(tenantId),
  };
  const entry = auditEntrySchema.parse(candidate);
  const text = canonicalize(entry);
  const hash = sha256HexSync(text);
  const credentialId = entry.target?.kind === "credential" ? entry.target.id : typeof entry.details.credential_id === "string" ? entry.details.credential_id : null;
  sql.exec(
    "INSERT INTO audit (seq, ts, type, identity, credential_id, entry, hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
    entry.seq, at, entry.type, entry.actor.identity, credentialId, text, hash,
  );
  // Same transaction: the Merkle tree never disagrees with the entries it covers. (The set is
  // empty unless the TEST_HOOKS-only bench switch named this tenant: bench/merkle.mjs's baseline.)
  if (!MERKLE_BENCH_SKIP.has(tenantId)) appendMerkleLeaf(sql, entry.seq, text);
  return { entry, hash };
}

/**
 * Keyed fingerprint of a sensitive string (DESIGN.md: `hmac-sha256:<hex>` under a per-tenant
 * audit key), so entries can be correlated without ever holding the string.
 */
export function auditFingerprint(auditKey: Uint8Array, value: string): string {
  return `hmac-sha256:${createHmac("sha256", auditKey).update(value, "utf8").digest("hex")}`;
}

/** Derives the tenant's audit HMAC key from the pepper, so no extra secret is needed. */
export function deriveAuditKey(pepperHex: string, tenantId: string): Uint8Array {
  return new Uint8Array(createHmac("sha256", Buffer.from(pepperHex, "hex")).update(`gv/audit-hmac/v1|${tenantId}`).digest());
}
