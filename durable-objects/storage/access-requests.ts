import { z } from "zod";
import { ApproversSchema } from "../../worker/contract/schemas/acl";
import { AccessRequestStatusSchema } from "../../worker/contract/schemas/access-requests";
import { AgentSchema } from "../../worker/contract/schemas/leases";

/** An access request row as stored in the TenantVault (table `access_requests`, STORAGE.md). */
export const AccessRequestRowSchema = z.object({
  n: z.number().int(),
  id: z.string(),
  credential_id: z.string(),
  credential_name: z.string(),
  identity: z.string(),
  token_id: z.string(),
  /** The API token the requester's token descends from (itself, or a session's parent): no token of that lineage approves. */
  token_root: z.string(),
  agent: z
    .string()
    .nullable()
    .transform((a) => (a === null ? null : AgentSchema.parse(JSON.parse(a)))),
  purpose: z.string().nullable(),
  ttl: z.number().int(),
  approvers: z.string().transform((a) => ApproversSchema.parse(JSON.parse(a))),
  status: AccessRequestStatusSchema,
  created_at: z.number().int(),
  expires_at: z.number().int(),
  decided_at: z.number().int().nullable(),
  decided_by: z.string().nullable(),
  decided_token: z.string().nullable(),
  reason: z.string().nullable(),
  lease_id: z.string().nullable(),
});

/** A stored access request. */
export type AccessRequestRow = z.output<typeof AccessRequestRowSchema>;
/** What a new (pending) request stores. */
export type NewAccessRequest = Pick<
  AccessRequestRow,
  | "id"
  | "credential_id"
  | "credential_name"
  | "identity"
  | "token_id"
  | "token_root"
  | "agent"
  | "purpose"
  | "ttl"
  | "approvers"
  | "created_at"
  | "expires_at"
>;

const parse = (cursor: SqlStorageCursor<Record<string, SqlStorageValue>>) =>
  cursor.toArray().map((r) => AccessRequestRowSchema.parse(r));

/** Inserts a pending request. */
export function insertAccessRequest(sql: SqlStorage, r: NewAccessRequest): void {
  sql.exec(
    `INSERT INTO access_requests (id, credential_id, credential_name, identity, token_id, token_root, agent, purpose, ttl, approvers, status, created_at, expires_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)`,
    r.id,
    r.credential_id,
    r.credential_name,
    r.identity,
    r.token_id,
    r.token_root,
    r.agent === null ? null : JSON.stringify(r.agent),
    r.purpose,
    r.ttl,
    JSON.stringify(r.approvers),
    r.created_at,
    r.expires_at,
  );
}

/** Finds a request by id. */
export function findAccessRequest(sql: SqlStorage, id: string): AccessRequestRow | undefined {
  return parse(sql.exec("SELECT * FROM access_requests WHERE id = ?", id))[0];
}

/** The identity's open (pending or approved) request for a credential that has not lapsed by `now`, if any (index access_requests_identity). */
export function openRequestFor(
  sql: SqlStorage,
  identity: string,
  credentialId: string,
  now: number,
): AccessRequestRow | undefined {
  return parse(
    sql.exec(
      "SELECT * FROM access_requests WHERE identity = ? AND status IN ('pending', 'approved') AND credential_id = ? AND expires_at > ? ORDER BY n DESC LIMIT 1",
      identity,
      credentialId,
      now,
    ),
  )[0];
}

/** Pending requests not lapsed by `now`: of one identity, or of the whole tenant. */
export function countPending(sql: SqlStorage, now: number, identity?: string): number {
  const byIdentity = identity === undefined ? "" : "AND identity = ?";
  const args: SqlStorageValue[] = identity === undefined ? [now] : [now, identity];
  return sql
    .exec<{ c: number }>(
      `SELECT count(*) AS c FROM access_requests WHERE status = 'pending' AND expires_at > ? ${byIdentity}`,
      ...args,
    )
    .one().c;
}

/** Requests newest first: pending ones (`identity` undefined) or every request of one identity. */
export function listAccessRequests(
  sql: SqlStorage,
  filter: { pendingAfter?: number; identity?: string; limit: number },
): AccessRequestRow[] {
  if (filter.identity !== undefined)
    return parse(
      sql.exec(
        "SELECT * FROM access_requests WHERE identity = ? ORDER BY n DESC LIMIT ?",
        filter.identity,
        filter.limit,
      ),
    );
  return parse(
    sql.exec(
      "SELECT * FROM access_requests WHERE status = 'pending' AND expires_at > ? ORDER BY n DESC LIMIT ?",
      filter.pendingAfter ?? 0,
      filter.limit,
    ),
  );
}

/**
 * Moves a request from `from` to its next state; false when it was no longer in `from` (a racing
 * decision, or it lapsed), so a request is decided and collected at most once.
 */
export function decideAccessRequest(
  sql: SqlStorage,
  id: string,
  from: "pending" | "approved",
  to: {
    status: "approved" | "denied" | "expired" | "collected";
    at: number;
    expiresAt?: number;
    by?: string;
    token?: string;
    reason?: string | null;
    leaseId?: string;
  },
): boolean {
  const sets = ["status = ?"];
  const args: SqlStorageValue[] = [to.status];
  if (to.status === "approved" || to.status === "denied")
    sets.push("decided_at = ?", "decided_by = ?", "decided_token = ?", "reason = ?"),
      args.push(to.at, to.by ?? null, to.token ?? null, to.reason ?? null);
  if (to.expiresAt !== undefined) sets.push("expires_at = ?"), args.push(to.expiresAt);
  if (to.leaseId !== undefined) sets.push("lease_id = ?"), args.push(to.leaseId);
  return (
    sql.exec(`UPDATE access_requests SET ${sets.join(", ")} WHERE id = ? AND status = ?`, ...args, id, from)
      .rowsWritten > 0
  );
}

/** Open (pending or approved) requests past their deadline, earliest first, at most `limit` (index access_requests_open). */
export function dueAccessRequests(sql: SqlStorage, now: number, limit: number): AccessRequestRow[] {
  return parse(
    sql.exec(
      "SELECT * FROM access_requests WHERE status IN ('pending', 'approved') AND expires_at <= ? ORDER BY expires_at LIMIT ?",
      now,
      limit,
    ),
  );
}

/** The earliest deadline of any open request (index access_requests_open), or null. */
export function earliestRequestExpiry(sql: SqlStorage): number | null {
  return sql
    .exec<{ at: number | null }>(
      "SELECT min(expires_at) AS at FROM access_requests WHERE status IN ('pending', 'approved')",
    )
    .one().at;
}
