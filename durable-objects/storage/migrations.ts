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
];

/**
 * Brings the schema up to date. Call inside `ctx.blockConcurrencyWhile` in the constructor so
 * no request sees a half-migrated database; each migration runs in its own transaction.
 */
export function migrate(storage: DurableObjectStorage): void {
  const sql = storage.sql;
  sql.exec("CREATE TABLE IF NOT EXISTS _schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
  const row = sql.exec<{ v: number | null }>("SELECT max(version) AS v FROM _schema_migrations").one();
  const applied = row.v ?? 0;
  MIGRATIONS.forEach((statements, index) => {
    const version = index + 1;
    if (version <= applied) return;
    storage.transactionSync(() => {
      sql.exec(statements);
      sql.exec("INSERT INTO _schema_migrations (version, applied_at) VALUES (?, ?)", version, Date.now());
    });
  });
}
