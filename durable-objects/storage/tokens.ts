import { z } from "zod";
import { RoleSchema } from "../../worker/contract/schemas/common";

/** A token row as stored in the TenantVault (the hash, never the token). */
export const TokenRowSchema = z.object({
  id: z.string(),
  token_hash: z.string(),
  kind: z.enum(["api", "session"]),
  name: z.string(),
  role: RoleSchema,
  identity: z.string(),
  created_at: z.number().int(),
  created_by: z.string(),
  expires_at: z.number().int().nullable(),
  revoked_at: z.number().int().nullable(),
  revoked_by: z.string().nullable(),
  /** For session tokens: the API token that created it. */
  parent_id: z.string().nullable(),
});

/** A stored token. */
export type TokenRow = z.output<typeof TokenRowSchema>;

const parseRows = (cursor: SqlStorageCursor<Record<string, SqlStorageValue>>) =>
  cursor.toArray().map((r) => TokenRowSchema.parse(r));

/** Inserts a token row. */
export function insertToken(sql: SqlStorage, row: TokenRow): void {
  sql.exec(
    `INSERT INTO tokens (id, token_hash, kind, name, role, identity, created_at, created_by, expires_at, revoked_at, revoked_by, parent_id)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    row.id,
    row.token_hash,
    row.kind,
    row.name,
    row.role,
    row.identity,
    row.created_at,
    row.created_by,
    row.expires_at,
    row.revoked_at,
    row.revoked_by,
    row.parent_id,
  );
}

/** Finds a token by the HMAC of its secret form (unique index). */
export function findTokenByHash(sql: SqlStorage, tokenHash: string): TokenRow | undefined {
  return parseRows(sql.exec("SELECT * FROM tokens WHERE token_hash = ?", tokenHash))[0];
}

/** Finds a token by id. */
export function findTokenById(sql: SqlStorage, id: string): TokenRow | undefined {
  return parseRows(sql.exec("SELECT * FROM tokens WHERE id = ?", id))[0];
}

/** Lists tokens by id after `cursor`. */
export function listTokens(
  sql: SqlStorage,
  q: { limit: number; cursor?: string; includeRevoked: boolean },
): TokenRow[] {
  return parseRows(
    sql.exec(
      `SELECT * FROM tokens WHERE id > ? AND (? OR revoked_at IS NULL) ORDER BY id LIMIT ?`,
      q.cursor ?? "",
      q.includeRevoked ? 1 : 0,
      q.limit + 1,
    ),
  );
}

/** Marks a token revoked; returns false when it was already revoked. */
export function revokeToken(sql: SqlStorage, id: string, by: string, now: number): boolean {
  return (
    sql.exec("UPDATE tokens SET revoked_at = ?, revoked_by = ? WHERE id = ? AND revoked_at IS NULL", now, by, id)
      .rowsWritten > 0
  );
}
