import { z } from "zod";
import { canonicalize, type JsonValue } from "../../worker/core/audit/canonical-json";
import { sha256HexSync } from "../../worker/core/crypto/sha256-sync";

/**
 * The OperatorPlane object's SQLite schema (durable-objects/STORAGE.md "OperatorPlane"):
 * named operator tokens, the hash-chained operator log, and fleet jobs with one row per tenant.
 * Append only, like the tenant object's migrations.
 */
export const OPERATOR_MIGRATIONS: readonly string[] = [
  `CREATE TABLE operator_tokens (
     id TEXT PRIMARY KEY,
     token_hash TEXT NOT NULL UNIQUE,
     name TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     created_by TEXT NOT NULL,
     expires_at INTEGER NOT NULL,
     revoked_at INTEGER,
     revoked_by TEXT
   );
   CREATE TABLE operator_log (
     seq INTEGER PRIMARY KEY,
     ts INTEGER NOT NULL,
     entry TEXT NOT NULL,
     hash TEXT NOT NULL
   );
   CREATE TABLE jobs (
     id TEXT PRIMARY KEY,
     kind TEXT NOT NULL,
     params TEXT NOT NULL,
     operator TEXT NOT NULL,
     token_id TEXT NOT NULL,
     state TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     finished_at INTEGER
   );
   CREATE TABLE job_tenants (
     job_id TEXT NOT NULL,
     tenant_id TEXT NOT NULL,
     state TEXT NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     result TEXT,
     error TEXT,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (job_id, tenant_id)
   );
   CREATE INDEX job_tenants_pending ON job_tenants (job_id, state);`,
];

/** The first entry's `prev_hash`: SHA-256("gv-operator-log-genesis"). */
export const OPERATOR_LOG_GENESIS = sha256HexSync("gv-operator-log-genesis");

/** One operator log entry before it is chained. */
export interface OperatorLogEvent {
  operator: string;
  token_id: string;
  request_id: string;
  action: string;
  details: { [key: string]: JsonValue };
}

const Head = z.object({ seq: z.number().int(), hash: z.string() });

/**
 * Appends to the operator log: entry = canonical JSON of `{v, seq, ts, operator, token_id,
 * request_id, action, details, prev_hash}`, hash = SHA-256 of it, like a tenant's audit chain.
 * Call inside the transaction of the change it records. No API updates or deletes a row.
 */
export function appendOperatorLog(
  sql: SqlStorage,
  event: OperatorLogEvent,
  now: number,
): { seq: number; hash: string } {
  const rows = sql.exec("SELECT seq, hash FROM operator_log ORDER BY seq DESC LIMIT 1").toArray();
  const head = rows.length === 0 ? null : Head.parse(rows[0]);
  const seq = (head?.seq ?? 0) + 1;
  const entry = canonicalize({
    v: 1,
    seq,
    ts: new Date(now).toISOString(),
    ...event,
    prev_hash: head?.hash ?? OPERATOR_LOG_GENESIS,
  });
  const hash = sha256HexSync(entry);
  sql.exec("INSERT INTO operator_log (seq, ts, entry, hash) VALUES (?, ?, ?, ?)", seq, now, entry, hash);
  return { seq, hash };
}

const LogRow = z.object({ seq: z.number().int(), entry: z.string(), hash: z.string() });

/** A page of the operator log, oldest first, and whether its chain links verify. */
export function readOperatorLog(sql: SqlStorage, afterSeq: number, limit: number) {
  const found = sql
    .exec("SELECT seq, entry, hash FROM operator_log WHERE seq > ? ORDER BY seq LIMIT ?", afterSeq, limit + 1)
    .toArray()
    .map((r) => LogRow.parse(r));
  const page = found.slice(0, limit);
  return {
    items: page.map((r) => ({ seq: r.seq, hash: r.hash, entry: JSON.parse(r.entry) as Record<string, unknown> })),
    next_after: found.length > limit ? page.at(-1)!.seq : null,
  };
}

/** Recomputes the whole operator log's chain: the first seq that does not verify, or null. */
export function verifyOperatorLog(
  sql: SqlStorage,
): { ok: true; entries: number; head: string | null } | { ok: false; seq: number } {
  let prev = OPERATOR_LOG_GENESIS;
  let expected = 1;
  for (const raw of sql.exec("SELECT seq, entry, hash FROM operator_log ORDER BY seq")) {
    const r = LogRow.parse(raw);
    const entry = JSON.parse(r.entry) as { prev_hash?: unknown; seq?: unknown };
    if (r.seq !== expected || entry.seq !== r.seq || entry.prev_hash !== prev || sha256HexSync(r.entry) !== r.hash)
      return { ok: false, seq: r.seq };
    prev = r.hash;
    expected++;
  }
  return { ok: true, entries: expected - 1, head: expected > 1 ? prev : null };
}
