import { and, asc, count, eq, gt, inArray, lt, ne, or, sql } from "drizzle-orm";
import { credentialVersions, tenantKeks, tenants } from "./schema";
import type { TenantDb } from "./tenant-db";

/** A tenant KEK row as stored. */
export type TenantKekRow = typeof tenantKeks.$inferSelect;

/** Creates the tenant row and its first KEK (version 1, active) in one batch. */
export async function insertTenant(t: TenantDb, name: string, wrappedKek: Uint8Array, now: number): Promise<void> {
  await t.db.batch([
    t.db.insert(tenants).values({ id: t.tenantId, name, createdAt: now }),
    t.db.insert(tenantKeks).values({ tenantId: t.tenantId, version: 1, wrappedKek, state: "active", createdAt: now }),
  ]);
}

/** Reads one KEK version of the tenant. */
export async function getKek(t: TenantDb, version: number): Promise<TenantKekRow | undefined> {
  return t.db
    .select()
    .from(tenantKeks)
    .where(and(eq(tenantKeks.tenantId, t.tenantId), eq(tenantKeks.version, version)))
    .get();
}

/** All KEK versions of the tenant with how many wrapped DEKs each still protects. */
export async function listKeks(t: TenantDb): Promise<(TenantKekRow & { wrappedDeks: number })[]> {
  // Two reads, not a batch: a batch counts as a write (test fault hook, outbox/faults.ts), and a
  // rotation must be able to read the versions while D1 refuses writes, then queue its row.
  const [rows, counts] = await Promise.all([
    t.db.select().from(tenantKeks).where(eq(tenantKeks.tenantId, t.tenantId)).orderBy(asc(tenantKeks.version)),
    t.db
      .select({ kekVersion: credentialVersions.kekVersion, n: count() })
      .from(credentialVersions)
      .where(eq(credentialVersions.tenantId, t.tenantId))
      .groupBy(credentialVersions.kekVersion),
  ]);
  const byVersion = new Map(counts.map((c) => [c.kekVersion, c.n]));
  return rows.map((r) => ({ ...r, wrappedDeks: byVersion.get(r.version) ?? 0 }));
}

/**
 * Makes `version` the active KEK in D1: inserts its row if absent (by tenant and version) and demotes
 * every older active version to decrypt-only, atomically. Idempotent, so the outbox can apply it any
 * number of times (a replay after a crash, a retry after D1 failed) and D1 ends the same.
 */
export async function applyActivateKek(
  t: TenantDb,
  version: number,
  wrappedKek: Uint8Array,
  createdAt: number,
): Promise<void> {
  await t.db.batch([
    t.db
      .update(tenantKeks)
      .set({ state: "decrypt_only" })
      .where(and(eq(tenantKeks.tenantId, t.tenantId), eq(tenantKeks.state, "active"), lt(tenantKeks.version, version))),
    t.db
      .insert(tenantKeks)
      .values({ tenantId: t.tenantId, version, wrappedKek, state: "active", createdAt })
      .onConflictDoNothing(),
  ]);
}

/** The next batch of wrapped DEKs not yet on `activeVersion`, after the sweep cursor. */
export async function wrappedDeksToRewrap(
  t: TenantDb,
  activeVersion: number,
  after: { credentialId: string; version: number } | null,
  limit: number,
) {
  const cv = credentialVersions;
  const cursor = after
    ? or(
        gt(cv.credentialId, after.credentialId),
        and(eq(cv.credentialId, after.credentialId), gt(cv.version, after.version)),
      )
    : undefined;
  return t.db
    .select({
      credentialId: cv.credentialId,
      version: cv.version,
      wrappedDek: cv.wrappedDek,
      kekVersion: cv.kekVersion,
    })
    .from(cv)
    .where(and(eq(cv.tenantId, t.tenantId), ne(cv.kekVersion, activeVersion), cursor))
    .orderBy(asc(cv.credentialId), asc(cv.version))
    .limit(limit)
    .all();
}

/**
 * Replaces one wrapped DEK only if it is still under `fromKekVersion` (compare-and-set), so a
 * sweep that resumes after a crash, or races a delete, never overwrites newer state.
 */
export async function replaceWrappedDek(
  t: TenantDb,
  row: { credentialId: string; version: number; fromKekVersion: number },
  wrappedDek: Uint8Array,
  toKekVersion: number,
): Promise<boolean> {
  const cv = credentialVersions;
  const res = await t.db
    .update(cv)
    .set({ wrappedDek, kekVersion: toKekVersion })
    .where(
      and(
        eq(cv.tenantId, t.tenantId),
        eq(cv.credentialId, row.credentialId),
        eq(cv.version, row.version),
        eq(cv.kekVersion, row.fromKekVersion),
      ),
    )
    .run();
  return res.meta.changes === 1;
}

const unused = (t: TenantDb) =>
  sql`not exists (select 1 from ${credentialVersions} where ${credentialVersions.tenantId} = ${t.tenantId} and ${credentialVersions.kekVersion} = ${tenantKeks.version})`;

/** Decrypt-only KEK versions that no wrapped DEK uses any more: the ones a finished sweep destroys. */
export async function unusedKekVersions(t: TenantDb): Promise<number[]> {
  const rows = await t.db
    .select({ version: tenantKeks.version })
    .from(tenantKeks)
    .where(and(eq(tenantKeks.tenantId, t.tenantId), eq(tenantKeks.state, "decrypt_only"), unused(t)))
    .all();
  return rows.map((r) => r.version);
}

/**
 * Destroys the listed KEK versions that are still decrypt-only and unused: the KMS ciphertext is
 * erased, so the version can never be unwrapped again. Idempotent, so a replay after a crash is safe.
 */
export async function destroyKeks(t: TenantDb, versions: number[], now: number): Promise<void> {
  if (versions.length === 0) return;
  await t.db
    .update(tenantKeks)
    .set({ state: "destroyed", wrappedKek: null, destroyedAt: now })
    .where(
      and(
        eq(tenantKeks.tenantId, t.tenantId),
        inArray(tenantKeks.version, versions),
        eq(tenantKeks.state, "decrypt_only"),
        unused(t),
      ),
    )
    .run();
}
