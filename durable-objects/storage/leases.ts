import { z } from "zod";
import { AgentSchema } from "../../worker/contract/schemas/leases";

/** A lease row as stored in the TenantVault. */
export const LeaseRowSchema = z.object({
  n: z.number().int(),
  id: z.string(),
  credential_id: z.string(),
  credential_name: z.string(),
  version: z.number().int(),
  identity: z.string(),
  token_id: z.string(),
  agent: z
    .string()
    .nullable()
    .transform((a) => (a === null ? null : AgentSchema.parse(JSON.parse(a)))),
  purpose: z.string().nullable(),
  issued_at: z.number().int(),
  expires_at: z.number().int(),
  max_expires_at: z.number().int(),
  state: z.enum(["active", "expired", "revoked"]),
  ended_at: z.number().int().nullable(),
  revoked_by: z.string().nullable(),
  /** The TTL (seconds) the lease was granted with: what a renewal without a TTL extends by. */
  ttl: z.number().int().nullable(),
});

/** A stored lease. */
export type LeaseRow = z.output<typeof LeaseRowSchema>;
/** What a new lease stores. */
export type NewLease = Omit<LeaseRow, "n" | "state" | "ended_at" | "revoked_by">;

const parse = (cursor: SqlStorageCursor<Record<string, SqlStorageValue>>) =>
  cursor.toArray().map((r) => LeaseRowSchema.parse(r));

/** Inserts an active lease. */
export function insertLease(sql: SqlStorage, l: NewLease): void {
  sql.exec(
    `INSERT INTO leases (id, credential_id, credential_name, version, identity, token_id, agent, purpose, issued_at, expires_at, max_expires_at, state, ttl)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?)`,
    l.id,
    l.credential_id,
    l.credential_name,
    l.version,
    l.identity,
    l.token_id,
    l.agent === null ? null : JSON.stringify(l.agent),
    l.purpose,
    l.issued_at,
    l.expires_at,
    l.max_expires_at,
    l.ttl,
  );
}

/** Finds a lease by id. */
export function findLease(sql: SqlStorage, id: string): LeaseRow | undefined {
  return parse(sql.exec("SELECT * FROM leases WHERE id = ?", id))[0];
}

/** Filters for listing leases; `now` turns "active past its deadline" into expired. */
export interface LeaseFilter {
  state?: "active" | "expired" | "revoked";
  credentialId?: string;
  identity?: string;
  beforeN?: number;
  limit: number;
  now: number;
}

/** Lists leases newest first. Each filter maps to an index (state+expiry, credential, identity). */
export function listLeases(sql: SqlStorage, f: LeaseFilter): LeaseRow[] {
  const where: string[] = ["n < ?"];
  const args: SqlStorageValue[] = [f.beforeN ?? Number.MAX_SAFE_INTEGER];
  if (f.credentialId !== undefined) where.push("credential_id = ?"), args.push(f.credentialId);
  if (f.identity !== undefined) where.push("identity = ?"), args.push(f.identity);
  if (f.state === "active") where.push("state = 'active' AND expires_at > ?"), args.push(f.now);
  if (f.state === "expired")
    where.push("(state = 'expired' OR (state = 'active' AND expires_at <= ?))"), args.push(f.now);
  if (f.state === "revoked") where.push("state = 'revoked'");
  return parse(
    sql.exec(`SELECT * FROM leases WHERE ${where.join(" AND ")} ORDER BY n DESC LIMIT ?`, ...args, f.limit + 1),
  );
}

/** Moves a lease's deadline (renewal). */
export function setLeaseExpiry(sql: SqlStorage, id: string, expiresAt: number): void {
  sql.exec("UPDATE leases SET expires_at = ? WHERE id = ? AND state = 'active'", expiresAt, id);
}

/** Ends an active lease; returns false if it was no longer active. */
export function endLease(
  sql: SqlStorage,
  id: string,
  state: "expired" | "revoked",
  at: number,
  revokedBy: string | null,
): boolean {
  return (
    sql.exec(
      "UPDATE leases SET state = ?, ended_at = ?, revoked_by = ? WHERE id = ? AND state = 'active'",
      state,
      at,
      revokedBy,
      id,
    ).rowsWritten > 0
  );
}

/** What the expiry sweep records of a lease it ended: the fields of its `leases.expired` item. */
export type ExpiredRow = Pick<LeaseRow, "id" | "credential_id" | "version" | "identity" | "expires_at">;

const ExpiredRowSchema = LeaseRowSchema.pick({
  id: true,
  credential_id: true,
  version: true,
  identity: true,
  expires_at: true,
});

/**
 * Ends, as expired at their own deadlines, up to `limit` active leases whose deadline is at or
 * before `now`, earliest first (index leases_active_expiry), in one statement, and returns them
 * in that order. One statement instead of a read and an update per lease: an expiry storm ends
 * 100,000 leases, and each call into SQLite has its own cost. Call inside a transaction that also
 * records them.
 */
export function expireDue(sql: SqlStorage, now: number, limit: number): ExpiredRow[] {
  return sql
    .exec(
      `UPDATE leases SET state = 'expired', ended_at = expires_at, revoked_by = NULL
       WHERE n IN (SELECT n FROM leases WHERE state = 'active' AND expires_at <= ? ORDER BY expires_at, n LIMIT ?)
       RETURNING n, id, credential_id, version, identity, expires_at`,
      now,
      limit,
    )
    .toArray()
    .sort((x, y) => Number(x.expires_at) - Number(y.expires_at) || Number(x.n) - Number(y.n))
    .map((r) => ExpiredRowSchema.parse(r));
}

/** The earliest deadline of any active lease (index leases_active_expiry), or null. */
export function earliestExpiry(sql: SqlStorage): number | null {
  const row = sql.exec<{ at: number | null }>("SELECT min(expires_at) AS at FROM leases WHERE state = 'active'").one();
  return row.at;
}

/** Position of a break-glass scan over active leases. */
export interface ActiveCursor {
  expiresAt: number;
  n: number;
}

/**
 * Active leases after `after`, in (expires_at, n) order through the partial index of active
 * leases (so expired history is never scanned), optionally of one credential.
 */
export function activeLeasesAfter(
  sql: SqlStorage,
  after: ActiveCursor,
  credentialId: string | undefined,
  limit: number,
): LeaseRow[] {
  const byCredential = credentialId === undefined ? "" : "AND credential_id = ?";
  const args: SqlStorageValue[] = [after.expiresAt, after.expiresAt, after.n];
  if (credentialId !== undefined) args.push(credentialId);
  return parse(
    sql.exec(
      `SELECT * FROM leases WHERE state = 'active' AND (expires_at > ? OR (expires_at = ? AND n > ?)) ${byCredential}
       ORDER BY expires_at, n LIMIT ?`,
      ...args,
      limit,
    ),
  );
}

/** Leases held at any time within [from, to]: issued before `to` and not ended before `from`. */
export function leasesHeldDuring(sql: SqlStorage, from: number, to: number, limit: number): LeaseRow[] {
  return parse(
    sql.exec(
      // An active lease is held until its deadline; an ended one until it ended.
      "SELECT * FROM leases WHERE issued_at <= ? AND coalesce(ended_at, expires_at) >= ? ORDER BY issued_at LIMIT ?",
      to,
      from,
      limit,
    ),
  );
}
