import { type AuditFields, hmacField, nextEntrySync } from "../../worker/core/audit/codec";
import { type AuditEntry, auditTimestamp } from "../../worker/core/audit/entry";
import { hexToBytes } from "../../worker/core/crypto/encoding";
import { hmacSha256HexSync, hmacSha256Sync } from "../../worker/core/crypto/sha256-sync";
import { sha256Js } from "../../worker/core/crypto/sha256-js";
import type { AuditState } from "./audit-state";
import { appendMerkleLeaf, MERKLE_BENCH_SKIP } from "./merkle-store";

/**
 * Appending to the tenant's audit chain, synchronously. The entry is built, canonicalised and
 * hashed by the one audit codec (worker/core/audit/codec.ts) with node:crypto's synchronous
 * SHA-256, which lets it be inserted inside `transactionSync` together with the state change it
 * records: one SQLite transaction, no window in which another request could take the same seq,
 * and nothing written if either insert fails (fail closed).
 */

/** The chain's last entry. */
export interface AuditHead {
  seq: number;
  hash: string;
}

/** An event to record, without the fields the chain fills in. */
export type AuditEvent = Omit<AuditFields, "tenant" | "ts"> & { at: number };

/**
 * The last entry, read from storage (never cached: a rolled-back transaction must not leave a
 * stale head). Checked by hand rather than with zod: it is read on every append (issue 16).
 */
export function auditHead(sql: SqlStorage): AuditHead | null {
  const rows = sql.exec("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").toArray();
  if (rows.length === 0) return null;
  const { seq, hash } = rows[0]!;
  if (!Number.isSafeInteger(seq) || typeof hash !== "string") throw new Error("the audit log's last row is malformed");
  return { seq: seq as number, hash };
}

/**
 * Appends one entry and returns it. Must run inside the caller's `transactionSync` when it
 * records a state change, so both land or neither does. Throws (and so aborts that transaction)
 * if the entry is invalid or cannot be written. `state`: the object's audit hints (audit-state.ts).
 */
export function appendAudit(
  sql: SqlStorage,
  tenantId: string,
  event: AuditEvent,
  state?: AuditState,
): { entry: AuditEntry; hash: string } {
  const { at, ...fields } = event;
  const { entry, text, hash, digest } = nextEntrySync(
    auditHead(sql),
    { ...fields, tenant: tenantId, ts: auditTimestamp(at) },
    // Plain JavaScript: node:crypto's per-call cost in workerd was most of the append's hashing
    // (worker/core/crypto/sha256-js.ts). The entry is public, and the vault's verify rehashes it
    // with node:crypto.
    sha256Js,
  );
  const credentialId =
    entry.target?.kind === "credential"
      ? entry.target.id
      : typeof entry.details.credential_id === "string"
        ? entry.details.credential_id
        : null;
  sql.exec(
    "INSERT INTO audit (seq, ts, type, identity, credential_id, entry, hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
    entry.seq,
    at,
    entry.type,
    entry.actor.identity,
    credentialId,
    text,
    hash,
  );
  // Same transaction: the Merkle tree never disagrees with the entries it covers. (The set is
  // empty unless the TEST_HOOKS-only bench switch named this tenant: bench/merkle.mjs's baseline.)
  // A v2 entry's hash is its RFC 6962 leaf hash (codec.ts `entryHashInput`): no second hash.
  if (!MERKLE_BENCH_SKIP.has(tenantId)) appendMerkleLeaf(sql, entry.seq, digest);
  if (state) state.appendedThrough = Math.max(state.appendedThrough, entry.seq);
  return { entry, hash };
}

/**
 * Keyed fingerprint of a sensitive string (DESIGN.md: `hmac-sha256:<hex>` under a per-tenant
 * audit key), so entries can be correlated without ever holding the string: the codec's
 * `hmacField` with the synchronous HMAC.
 */
export function auditFingerprint(auditKey: Uint8Array, value: string): string {
  return hmacField(auditKey, value, hmacSha256HexSync);
}

/** Derives the tenant's audit HMAC key from the pepper, so no extra secret is needed. */
export function deriveAuditKey(pepperHex: string, tenantId: string): Uint8Array {
  return hmacSha256Sync(hexToBytes(pepperHex), `gv/audit-hmac/v1|${tenantId}`);
}
