import { z } from "zod";
import { CreateTrustSchema } from "../../worker/contract/schemas/federation";

const TrustRow = z.object({
  id: z.string(),
  name: z.string(),
  issuer: z.string(),
  policy: z.string(),
  created_at: z.number().int(),
  created_by: z.string(),
});
const WebhookRow = z.object({
  id: z.string(),
  name: z.string(),
  salt: z.string(),
  credentials: z.string().transform((c) => z.array(z.string()).parse(JSON.parse(c))),
  max_ttl: z.number().int(),
  created_at: z.number().int(),
  created_by: z.string(),
});

/** A stored trust policy with its parsed policy. */
export type StoredTrust = z.output<typeof TrustRow> & { parsed: z.output<typeof CreateTrustSchema> };
/** A stored webhook (its secret is derived, never stored). */
export type StoredWebhook = z.output<typeof WebhookRow>;

const trusts = (cursor: SqlStorageCursor<Record<string, SqlStorageValue>>): StoredTrust[] =>
  cursor.toArray().map((r) => {
    const row = TrustRow.parse(r);
    return { ...row, parsed: CreateTrustSchema.parse(JSON.parse(row.policy)) };
  });

/** Inserts a trust policy; false if the name is taken. */
export function insertTrust(
  sql: SqlStorage,
  t: { id: string; name: string; issuer: string; policy: string; created_at: number; created_by: string },
): boolean {
  return (
    sql.exec(
      "INSERT OR IGNORE INTO oidc_trusts (id, name, issuer, policy, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)",
      t.id,
      t.name,
      t.issuer,
      t.policy,
      t.created_at,
      t.created_by,
    ).rowsWritten > 0
  );
}

/** All trust policies, oldest first. */
export function listTrusts(sql: SqlStorage): StoredTrust[] {
  return trusts(sql.exec("SELECT * FROM oidc_trusts ORDER BY created_at, id"));
}

/** Trust policies for one issuer, oldest first (the order in which they are tried). */
export function trustsForIssuer(sql: SqlStorage, issuer: string): StoredTrust[] {
  return trusts(sql.exec("SELECT * FROM oidc_trusts WHERE issuer = ? ORDER BY created_at, id", issuer));
}

/** Finds a trust by id or name. */
export function findTrust(sql: SqlStorage, ref: string): StoredTrust | undefined {
  return trusts(sql.exec("SELECT * FROM oidc_trusts WHERE id = ? OR name = ?", ref, ref))[0];
}

/** Deletes a trust. */
export function deleteTrust(sql: SqlStorage, id: string): void {
  sql.exec("DELETE FROM oidc_trusts WHERE id = ?", id);
}

/** Inserts a webhook; false if the name is taken. */
export function insertWebhook(
  sql: SqlStorage,
  w: {
    id: string;
    name: string;
    salt: string;
    credentials: string[];
    max_ttl: number;
    created_at: number;
    created_by: string;
  },
): boolean {
  return (
    sql.exec(
      "INSERT OR IGNORE INTO webhooks (id, name, salt, credentials, max_ttl, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
      w.id,
      w.name,
      w.salt,
      JSON.stringify(w.credentials),
      w.max_ttl,
      w.created_at,
      w.created_by,
    ).rowsWritten > 0
  );
}

/** All webhooks by name. */
export function listWebhooks(sql: SqlStorage): StoredWebhook[] {
  return sql
    .exec("SELECT * FROM webhooks ORDER BY name")
    .toArray()
    .map((r) => WebhookRow.parse(r));
}

/** Finds a webhook by id or name. */
export function findWebhook(sql: SqlStorage, ref: string): StoredWebhook | undefined {
  return sql
    .exec("SELECT * FROM webhooks WHERE id = ? OR name = ?", ref, ref)
    .toArray()
    .map((r) => WebhookRow.parse(r))[0];
}

/** Deletes a webhook. */
export function deleteWebhook(sql: SqlStorage, id: string): void {
  sql.exec("DELETE FROM webhooks WHERE id = ?", id);
}

/** Inserts `key` into a replay table unless present, first pruning up to 100 lapsed rows. */
function rememberOnce(
  sql: SqlStorage,
  table: "webhook_replays" | "oidc_replays",
  key: string,
  until: number,
  now: number,
): boolean {
  sql.exec(
    `DELETE FROM ${table} WHERE replay_key IN (SELECT replay_key FROM ${table} WHERE expires_at < ? LIMIT 100)`,
    now,
  );
  return sql.exec(`INSERT OR IGNORE INTO ${table} (replay_key, expires_at) VALUES (?, ?)`, key, until).rowsWritten > 0;
}

/**
 * Remembers a webhook signature until it can no longer be fresh; false if it was already seen
 * (a replay). Prunes a bounded number of lapsed entries on the way.
 */
export function rememberReplayKey(sql: SqlStorage, key: string, until: number, now: number): boolean {
  return rememberOnce(sql, "webhook_replays", key, until, now);
}

/**
 * Remembers an exchanged OIDC ID token (by its replay key, a SHA-256) until it expires; false if
 * it was already exchanged. Each insert prunes up to 100 lapsed rows, so the table holds about
 * the tokens still valid.
 */
export function rememberOidcToken(sql: SqlStorage, key: string, until: number, now: number): boolean {
  return rememberOnce(sql, "oidc_replays", key, until, now);
}
