/**
 * The object's own copy of each live KEK version's KMS ciphertext (D1 `tenant_keks.wrapped_kek`
 * holds the other), so a cold object unwraps its KEK without first reading D1 (issue 16 goals 4
 * and 5: locally a D1 read costs about as much CPU as a whole warm lease). Only the KMS can open
 * it, as in D1. It is a cache that heals itself, never an authority: written where D1's row is
 * (bootstrap, the start of a KEK rotation, a root-key rewrap) and refilled from D1 when missing;
 * a copy the KMS refuses is dropped and D1 read instead (kek/cache.ts). Deleted in the same
 * transaction that records a version's destruction, before D1 erases it.
 */

/** The copy of `version`, or undefined. */
export function getKekCopy(sql: SqlStorage, version: number): Uint8Array | undefined {
  const rows = sql
    .exec<{ wrapped: ArrayBuffer }>("SELECT wrapped FROM kek_copies WHERE version = ?", version)
    .toArray();
  return rows.length === 0 ? undefined : new Uint8Array(rows[0]!.wrapped);
}

/** Stores (or replaces) the copy of `version`. */
export function putKekCopy(sql: SqlStorage, version: number, wrapped: Uint8Array, now: number): void {
  sql.exec(
    "INSERT INTO kek_copies (version, wrapped, copied_at) VALUES (?, ?, ?) ON CONFLICT (version) DO UPDATE SET wrapped = excluded.wrapped, copied_at = excluded.copied_at",
    version,
    wrapped,
    now,
  );
}

/** Deletes the copies of `versions`. */
export function deleteKekCopies(sql: SqlStorage, versions: readonly number[]): void {
  for (const version of versions) sql.exec("DELETE FROM kek_copies WHERE version = ?", version);
}
