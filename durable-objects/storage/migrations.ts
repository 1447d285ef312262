/**
 * The TenantVault's SQLite schema, as numbered migrations recorded in `_schema_migrations`.
 * Append only: never edit a migration that may have run; add the next number instead.
 * The tables are described in durable-objects/STORAGE.md.
 */
const MIGRATIONS: readonly string[] = [
  // 1: tenant facts and API/session tokens.
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE tokens (
     id TEXT PRIMARY KEY,
     token_hash TEXT NOT NULL UNIQUE,
     kind TEXT NOT NULL,
     name TEXT NOT NULL,
     role TEXT NOT NULL,
     identity TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     created_by TEXT NOT NULL,
     expires_at INTEGER,
     revoked_at INTEGER,
     revoked_by TEXT
   );`,
  // 2: leases, the audit chain and its signed checkpoints.
  `CREATE TABLE leases (
     n INTEGER PRIMARY KEY AUTOINCREMENT,
     id TEXT NOT NULL UNIQUE,
     credential_id TEXT NOT NULL,
     credential_name TEXT NOT NULL,
     version INTEGER NOT NULL,
     identity TEXT NOT NULL,
     token_id TEXT NOT NULL,
     agent TEXT,
     purpose TEXT,
     issued_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     max_expires_at INTEGER NOT NULL,
     state TEXT NOT NULL,
     ended_at INTEGER,
     revoked_by TEXT
   );
   CREATE INDEX leases_active_expiry ON leases (expires_at) WHERE state = 'active';
   CREATE INDEX leases_credential ON leases (credential_id, n);
   CREATE INDEX leases_identity ON leases (identity, n);
   CREATE INDEX leases_issued ON leases (issued_at);
   CREATE TABLE audit (
     seq INTEGER PRIMARY KEY,
     ts INTEGER NOT NULL,
     type TEXT NOT NULL,
     identity TEXT NOT NULL,
     credential_id TEXT,
     entry TEXT NOT NULL,
     hash TEXT NOT NULL
   );
   CREATE INDEX audit_ts ON audit (ts);
   CREATE INDEX audit_type ON audit (type, seq);
   CREATE INDEX audit_identity ON audit (identity, seq);
   CREATE INDEX audit_credential ON audit (credential_id, seq);
   CREATE TABLE checkpoints (size INTEGER PRIMARY KEY, ts INTEGER NOT NULL, note TEXT NOT NULL);`,
  // 3: the benchmark baseline's target table (written only by the TEST_HOOKS-gated `benchInsert`, test-hooks.ts).
  `CREATE TABLE bench_rows (n INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL);`,
  // 4: session tokens point at the API token that created them (revoking it ends them).
  `ALTER TABLE tokens ADD COLUMN parent_id TEXT;
   CREATE INDEX tokens_parent ON tokens (parent_id) WHERE parent_id IS NOT NULL;`,
  // 5: CI federation: OIDC trust policies, signed webhooks and the webhook replay window.
  `CREATE TABLE oidc_trusts (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, issuer TEXT NOT NULL, policy TEXT NOT NULL, created_at INTEGER NOT NULL, created_by TEXT NOT NULL);
   CREATE INDEX oidc_trusts_issuer ON oidc_trusts (issuer);
   CREATE TABLE webhooks (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, salt TEXT NOT NULL, credentials TEXT NOT NULL, max_ttl INTEGER NOT NULL, created_at INTEGER NOT NULL, created_by TEXT NOT NULL);
   CREATE TABLE webhook_replays (replay_key TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
   CREATE INDEX webhook_replays_expiry ON webhook_replays (expires_at);
   ALTER TABLE leases ADD COLUMN ttl INTEGER;`,
  // 6 (issue 9 §11): exchanged OIDC ID tokens, by SHA-256 replay key, until they expire.
  `CREATE TABLE oidc_replays (replay_key TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
   CREATE INDEX oidc_replays_expiry ON oidc_replays (expires_at);`,
  // 7: per-minute counters of refusals of callers who proved nothing, folded into one summary entry (audit/refusals.ts).
  `CREATE TABLE anon_refusals (minute INTEGER NOT NULL, reason TEXT NOT NULL, ip TEXT NOT NULL, route TEXT NOT NULL, count INTEGER NOT NULL, recorded INTEGER NOT NULL, PRIMARY KEY (minute, reason, ip, route));`,
  // 8: the object's own record of each credential's current version and retention (issue 9 §12):
  // D1 must agree with it, so a rollback written straight into D1 is caught, not served.
  `CREATE TABLE credential_heads (
     credential_id TEXT PRIMARY KEY,
     current_version INTEGER NOT NULL,
     keep_versions INTEGER,
     deleted_at INTEGER,
     updated_at INTEGER NOT NULL
   );`,
  // 9 (issue 10): the audit log's RFC 6962 Merkle tree: complete-subtree hashes at tlog's indexes.
  `CREATE TABLE audit_hashes (idx INTEGER PRIMARY KEY, h BLOB NOT NULL);`,
  // 10 (issue 15 §6): the outcome of each POST sent with an Idempotency-Key, per token, for 24 h
  // (durable-objects/idempotency.ts). The outcome is sealed under a key derived from the caller's
  // bearer token, which the object never stores, so no lease value lies here in clear.
  `CREATE TABLE idempotency (
     token_id TEXT NOT NULL,
     idem_key TEXT NOT NULL,
     fingerprint TEXT NOT NULL,
     outcome BLOB,
     created_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     PRIMARY KEY (token_id, idem_key)
   );
   CREATE INDEX idempotency_expiry ON idempotency (expires_at);`,
  // 11 (issue 11): use policies (where the vault may call with a credential) and teams (ACL principals).
  `CREATE TABLE use_policies (credential_id TEXT PRIMARY KEY, policy TEXT NOT NULL, updated_at INTEGER NOT NULL);
   CREATE TABLE teams (name TEXT PRIMARY KEY, members TEXT NOT NULL, updated_at INTEGER NOT NULL);`,
  // 12 (issue 18): the outbox of D1 mutations written with their audit entries, applied after.
  `CREATE TABLE d1_outbox (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     credential_id TEXT NOT NULL,
     credential_name TEXT NOT NULL,
     mutation TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     attempts INTEGER NOT NULL,
     next_attempt_at INTEGER NOT NULL,
     last_error TEXT
   );
   CREATE INDEX d1_outbox_credential ON d1_outbox (credential_id);
   CREATE INDEX d1_outbox_name ON d1_outbox (credential_name);`,
  // 13 (issue 10): the audit log's Merkle cut-over: entries in the log when the first Merkle
  // checkpoint was signed (durable-objects/audit/checkpoints.ts); hash-chain checkpoints stop there.
  `CREATE TABLE audit_cutover (id INTEGER PRIMARY KEY CHECK (id = 1), size INTEGER NOT NULL, ts INTEGER NOT NULL);`,
  // 14 (issue 10 §3): per configured witness, what it has seen of this tenant's Merkle log and the
  // retry state of submissions (durable-objects/audit/witnesses.ts). Cosignatures themselves are
  // appended to the checkpoint's note in \`checkpoints\`.
  `CREATE TABLE witness_state (
     witness TEXT PRIMARY KEY,
     size INTEGER NOT NULL,
     cosigned INTEGER NOT NULL,
     attempted INTEGER NOT NULL,
     failures INTEGER NOT NULL,
     retry_at INTEGER,
     last_error TEXT,
     updated_at INTEGER NOT NULL
   );`,
  // 15 (issue 14 §3): access requests held by an approve ACL rule (durable-objects/ops/access-requests.ts).
  `CREATE TABLE access_requests (
     n INTEGER PRIMARY KEY AUTOINCREMENT,
     id TEXT NOT NULL UNIQUE,
     credential_id TEXT NOT NULL,
     credential_name TEXT NOT NULL,
     identity TEXT NOT NULL,
     token_id TEXT NOT NULL,
     token_root TEXT NOT NULL,
     agent TEXT,
     purpose TEXT,
     ttl INTEGER NOT NULL,
     approvers TEXT NOT NULL,
     status TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     decided_at INTEGER,
     decided_by TEXT,
     decided_token TEXT,
     reason TEXT,
     lease_id TEXT
   );
   CREATE INDEX access_requests_open ON access_requests (expires_at) WHERE status IN ('pending', 'approved');
   CREATE INDEX access_requests_identity ON access_requests (identity, status);
   CREATE INDEX access_requests_status ON access_requests (status, n);`,
  // 16 (issue 13 §4): per-minute counters for the operator's metrics and P1 signals
  // (durable-objects/metrics/store.ts). Minute 0 holds everything older than the retention.
  `CREATE TABLE metrics_minutes (
     minute INTEGER PRIMARY KEY,
     requests INTEGER NOT NULL DEFAULT 0,
     errors INTEGER NOT NULL DEFAULT 0,
     leases_issued INTEGER NOT NULL DEFAULT 0,
     leases_denied INTEGER NOT NULL DEFAULT 0,
     leases_failed INTEGER NOT NULL DEFAULT 0,
     audit_append_failures INTEGER NOT NULL DEFAULT 0,
     kms_calls INTEGER NOT NULL DEFAULT 0,
     kms_failures INTEGER NOT NULL DEFAULT 0,
     integrity_violations INTEGER NOT NULL DEFAULT 0,
     lat_0 INTEGER NOT NULL DEFAULT 0, lat_1 INTEGER NOT NULL DEFAULT 0, lat_2 INTEGER NOT NULL DEFAULT 0,
     lat_3 INTEGER NOT NULL DEFAULT 0, lat_4 INTEGER NOT NULL DEFAULT 0, lat_5 INTEGER NOT NULL DEFAULT 0,
     lat_6 INTEGER NOT NULL DEFAULT 0, lat_7 INTEGER NOT NULL DEFAULT 0, lat_8 INTEGER NOT NULL DEFAULT 0,
     lat_9 INTEGER NOT NULL DEFAULT 0, lat_10 INTEGER NOT NULL DEFAULT 0,
     latency_sum_ms INTEGER NOT NULL DEFAULT 0,
     kms_last_failure_at INTEGER,
     kms_last_success_at INTEGER
   );`,
  // 17 (issue 16 goals 4, 5): the object's copy of each live KEK version's KMS ciphertext, so a
  // cold object unwraps without a D1 read (storage/kek-copies.ts).
  `CREATE TABLE kek_copies (
     version INTEGER PRIMARY KEY,
     wrapped BLOB NOT NULL,
     copied_at INTEGER NOT NULL
   );`,
  // 18 (issue 16 goals 4, 5): the object's copy of a credential's row and current ciphertext, so a
  // cold object's first lease needs no D1 read (storage/credential-copies.ts).
  `CREATE TABLE credential_copies (
     credential_id TEXT PRIMARY KEY,
     name TEXT NOT NULL UNIQUE,
     credential TEXT NOT NULL,
     current TEXT NOT NULL,
     value_blob BLOB NOT NULL,
     wrapped_dek BLOB NOT NULL,
     copied_at INTEGER NOT NULL
   );`,
];

/**
 * Brings the schema up to date. Call inside `ctx.blockConcurrencyWhile` in the constructor so
 * no request sees a half-migrated database; each migration runs in its own transaction.
 */
export function migrate(storage: DurableObjectStorage): void {
  applyMigrations(storage, MIGRATIONS);
}

/** Applies the numbered `migrations` not yet recorded in `_schema_migrations` (also the OperatorPlane's schema). */
export function applyMigrations(storage: DurableObjectStorage, migrations: readonly string[]): void {
  const sql = storage.sql;
  sql.exec("CREATE TABLE IF NOT EXISTS _schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
  const row = sql.exec<{ v: number | null }>("SELECT max(version) AS v FROM _schema_migrations").one();
  const applied = row.v ?? 0;
  migrations.forEach((statements, index) => {
    const version = index + 1;
    if (version <= applied) return;
    storage.transactionSync(() => {
      sql.exec(statements);
      sql.exec("INSERT INTO _schema_migrations (version, applied_at) VALUES (?, ?)", version, Date.now());
    });
  });
}
