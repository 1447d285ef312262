import { z } from "zod";
import { ROLES, type Role } from "../../worker/contract/roles";
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

const isInt = (x: unknown): x is number => Number.isSafeInteger(x);
const isRole = (x: unknown): x is Role => typeof x === "string" && (ROLES as readonly string[]).includes(x);

/**
 * A stored token row, checked by hand: it is read on every authenticated request, and zod's object
 * parsing without eval (workerd) was a visible share of the lease path (issue 16). Accepts exactly
 * what {@link TokenRowSchema} accepts (test/workers/storage/row-checks.test.ts); anything else goes
 * to the schema, which names what is wrong.
 */
export function tokenRowOf(r: Record<string, SqlStorageValue>): TokenRow {
  const { id, token_hash, kind, name, role, identity, created_at, created_by } = r;
  const { expires_at, revoked_at, revoked_by, parent_id } = r;
  if (
    typeof id === "string" &&
    typeof token_hash === "string" &&
    (kind === "api" || kind === "session") &&
    typeof name === "string" &&
    isRole(role) &&
    typeof identity === "string" &&
    isInt(created_at) &&
    typeof created_by === "string" &&
    (expires_at === null || isInt(expires_at)) &&
    (revoked_at === null || isInt(revoked_at)) &&
    (revoked_by === null || typeof revoked_by === "string") &&
    (parent_id === null || typeof parent_id === "string")
  )
    return {
      id,
      token_hash,
      kind,
      name,
      role,
      identity,
      created_at,
      created_by,
      expires_at,
      revoked_at,
      revoked_by,
      parent_id,
    };
  return TokenRowSchema.parse(r);
}

const parseRows = (cursor: SqlStorageCursor<Record<string, SqlStorageValue>>) => cursor.toArray().map(tokenRowOf);

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
