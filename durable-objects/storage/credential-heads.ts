import { z } from "zod";

/**
 * The Durable Object's record of one credential: the version D1 must name as current, how many
 * versions to keep, and whether it was deleted. Written in the same object transaction as the
 * audit entry of every create, rotate, update and delete (ops/credentials.ts).
 */
export const HeadRowSchema = z.object({
  credential_id: z.string(),
  current_version: z.number().int().positive(),
  /** null: the default (DEFAULT_KEEP_VERSIONS). */
  keep_versions: z.number().int().positive().nullable(),
  deleted_at: z.number().int().nullable(),
  updated_at: z.number().int(),
});

/** A stored credential head. */
export type HeadRow = z.output<typeof HeadRowSchema>;

/** How many versions of a credential are kept when it does not say. */
export const DEFAULT_KEEP_VERSIONS = 10;

const isInt = (x: unknown): x is number => Number.isSafeInteger(x);

/**
 * A stored head row, checked by hand (the lease hot path reads one per lease, issue 16): accepts
 * exactly what {@link HeadRowSchema} accepts (test/workers/storage/row-checks.test.ts); anything
 * else goes to the schema, which names what is wrong.
 */
export function headRowOf(r: Record<string, SqlStorageValue>): HeadRow {
  const { credential_id, current_version, keep_versions, deleted_at, updated_at } = r;
  if (
    typeof credential_id === "string" &&
    isInt(current_version) &&
    current_version > 0 &&
    (keep_versions === null || (isInt(keep_versions) && keep_versions > 0)) &&
    (deleted_at === null || isInt(deleted_at)) &&
    isInt(updated_at)
  )
    return { credential_id, current_version, keep_versions, deleted_at, updated_at };
  return HeadRowSchema.parse(r);
}

/** The head of a credential (primary-key lookup: this runs on the lease hot path). */
export function getHead(sql: SqlStorage, credentialId: string): HeadRow | undefined {
  const rows = sql.exec("SELECT * FROM credential_heads WHERE credential_id = ?", credentialId).toArray();
  return rows.length === 0 ? undefined : headRowOf(rows[0]!);
}

/** Sets the current version (create, rotate), keeping the retention setting unless one is given. */
export function setHeadVersion(
  sql: SqlStorage,
  credentialId: string,
  version: number,
  now: number,
  keepVersions?: number,
): void {
  sql.exec(
    `INSERT INTO credential_heads (credential_id, current_version, keep_versions, deleted_at, updated_at) VALUES (?, ?, ?, NULL, ?)
     ON CONFLICT (credential_id) DO UPDATE SET current_version = excluded.current_version, updated_at = excluded.updated_at,
       keep_versions = coalesce(excluded.keep_versions, credential_heads.keep_versions)`,
    credentialId,
    version,
    keepVersions ?? null,
    now,
  );
}

/** Records a credential that predates this table as it is in D1 (trust on first use); no-op if known. */
export function adoptHead(sql: SqlStorage, credentialId: string, version: number, now: number): void {
  sql.exec(
    "INSERT OR IGNORE INTO credential_heads (credential_id, current_version, keep_versions, deleted_at, updated_at) VALUES (?, ?, NULL, NULL, ?)",
    credentialId,
    version,
    now,
  );
}

/** Changes how many versions a credential keeps; the version is left as it is (a rotation may have moved it). */
export function setHeadKeepVersions(sql: SqlStorage, credentialId: string, keepVersions: number, now: number): void {
  sql.exec(
    "UPDATE credential_heads SET keep_versions = ?, updated_at = ? WHERE credential_id = ?",
    keepVersions,
    now,
    credentialId,
  );
}

/** Marks a credential deleted: D1 must not show it again. */
export function markHeadDeleted(sql: SqlStorage, credentialId: string, version: number, now: number): void {
  sql.exec(
    `INSERT INTO credential_heads (credential_id, current_version, keep_versions, deleted_at, updated_at) VALUES (?, ?, NULL, ?, ?)
     ON CONFLICT (credential_id) DO UPDATE SET deleted_at = excluded.deleted_at, updated_at = excluded.updated_at`,
    credentialId,
    version,
    now,
    now,
  );
}

/** How many versions a head keeps. */
export function keepVersionsOf(head: HeadRow | undefined): number {
  return head?.keep_versions ?? DEFAULT_KEEP_VERSIONS;
}
