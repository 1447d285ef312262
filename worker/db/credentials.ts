import { and, asc, eq, gt, lte, sql } from "drizzle-orm";
import { credentials, credentialVersions } from "./schema";
import type { TenantDb } from "./tenant-db";

/** A credential row as stored. */
export type CredentialRow = typeof credentials.$inferSelect;
/** A credential version row as stored (ciphertext only). */
export type CredentialVersionRow = typeof credentialVersions.$inferSelect;
/** What a new version stores. */
export type SealedVersion = Pick<CredentialVersionRow, "version" | "valueBlob" | "wrappedDek" | "kekVersion" | "createdAt" | "createdBy">;

const scope = (t: TenantDb) => eq(credentials.tenantId, t.tenantId);

/** Finds a credential by id or by name within the tenant. */
export async function findCredential(t: TenantDb, ref: string): Promise<CredentialRow | undefined> {
  const column = ref.startsWith("cred_") ? credentials.id : credentials.name;
  return t.db.select().from(credentials).where(and(scope(t), eq(column, ref))).get();
}

/** Lists credentials by name, after `cursor`, optionally by name prefix or tag. */
export async function listCredentials(
  t: TenantDb,
  q: { limit: number; cursor?: string; prefix?: string; tag?: string },
): Promise<CredentialRow[]> {
  const filters = [scope(t)];
  if (q.cursor !== undefined) filters.push(gt(credentials.name, q.cursor));
  // substr, not LIKE: LIKE is case-insensitive in SQLite and names are case-sensitive.
  if (q.prefix) filters.push(sql`substr(${credentials.name}, 1, ${q.prefix.length}) = ${q.prefix}`);
  if (q.tag) filters.push(sql`exists (select 1 from json_each(${credentials.tags}) where value = ${q.tag})`);
  return t.db.select().from(credentials).where(and(...filters)).orderBy(asc(credentials.name)).limit(q.limit + 1).all();
}

/** Inserts a credential and its first version in one D1 batch (a transaction). */
export async function insertCredential(t: TenantDb, row: Omit<CredentialRow, "tenantId">, first: SealedVersion): Promise<void> {
  await t.db.batch([
    t.db.insert(credentials).values({ ...row, tenantId: t.tenantId }),
    t.db.insert(credentialVersions).values({ ...first, tenantId: t.tenantId, credentialId: row.id }),
  ]);
}

/**
 * Adds a version and moves the credential to it, only if the credential is still on
 * `fromVersion` (compare-and-set); returns false when another change won the race.
 */
export async function insertVersion(t: TenantDb, credentialId: string, fromVersion: number, next: SealedVersion): Promise<boolean> {
  const [, updated] = await t.db.batch([
    t.db.insert(credentialVersions).values({ ...next, tenantId: t.tenantId, credentialId }),
    t.db
      .update(credentials)
      .set({ currentVersion: next.version, updatedAt: next.createdAt })
      .where(and(scope(t), eq(credentials.id, credentialId), eq(credentials.currentVersion, fromVersion))),
  ]);
  return updated.meta.changes === 1;
}

/** Updates metadata fields of a credential. */
export async function updateCredential(
  t: TenantDb,
  credentialId: string,
  patch: Partial<Pick<CredentialRow, "description" | "tags" | "defaultTtl" | "maxTtl" | "acl" | "updatedAt">>,
): Promise<void> {
  await t.db.update(credentials).set(patch).where(and(scope(t), eq(credentials.id, credentialId))).run();
}

/** Deletes a credential and every stored version of its value (crypto-shredding the DEKs). */
export async function deleteCredential(t: TenantDb, credentialId: string): Promise<void> {
  await t.db.batch([
    t.db.delete(credentialVersions).where(and(eq(credentialVersions.tenantId, t.tenantId), eq(credentialVersions.credentialId, credentialId))),
    t.db.delete(credentials).where(and(scope(t), eq(credentials.id, credentialId))),
  ]);
}

/** Deletes every version up to and including `through` (retention): their DEKs are destroyed with them. */
export async function deleteVersionsThrough(t: TenantDb, credentialId: string, through: number): Promise<void> {
  await t.db
    .delete(credentialVersions)
    .where(and(eq(credentialVersions.tenantId, t.tenantId), eq(credentialVersions.credentialId, credentialId), lte(credentialVersions.version, through)))
    .run();
}

/** Undoes `deleteVersionsThrough` (an audit entry could not be written) from the rows read before it. */
export async function restoreVersions(t: TenantDb, versions: CredentialVersionRow[]): Promise<void> {
  if (versions.length === 0) return;
  await t.db.batch([t.db.insert(credentialVersions).values(versions[0]!), ...versions.slice(1).map((v) => t.db.insert(credentialVersions).values(v))]);
}

/** Lists a credential's versions, newest first. */
export async function listVersions(t: TenantDb, credentialId: string): Promise<CredentialVersionRow[]> {
  return t.db
    .select()
    .from(credentialVersions)
    .where(and(eq(credentialVersions.tenantId, t.tenantId), eq(credentialVersions.credentialId, credentialId)))
    .orderBy(sql`${credentialVersions.version} desc`)
    .all();
}

/** Reads one version's ciphertext. */
export async function getVersion(t: TenantDb, credentialId: string, version: number): Promise<CredentialVersionRow | undefined> {
  return t.db
    .select()
    .from(credentialVersions)
    .where(and(eq(credentialVersions.tenantId, t.tenantId), eq(credentialVersions.credentialId, credentialId), eq(credentialVersions.version, version)))
    .get();
}

/**
 * The credential and its current version's ciphertext in one D1 round trip: the lease hot path.
 */
export async function findCredentialWithCurrentVersion(
  t: TenantDb,
  ref: string,
): Promise<{ credential: CredentialRow; current: CredentialVersionRow } | undefined> {
  const column = ref.startsWith("cred_") ? credentials.id : credentials.name;
  const row = await t.db
    .select({ credential: credentials, current: credentialVersions })
    .from(credentials)
    .innerJoin(
      credentialVersions,
      and(
        eq(credentialVersions.tenantId, credentials.tenantId),
        eq(credentialVersions.credentialId, credentials.id),
        eq(credentialVersions.version, credentials.currentVersion),
      ),
    )
    .where(and(scope(t), eq(column, ref)))
    .get();
  return row;
}

/**
 * Undoes `insertVersion` (an audit entry could not be written): back to `previous` and the
 * `updatedAt` it had before, drop `added`.
 */
export async function undoVersion(t: TenantDb, credentialId: string, previous: number, added: number, previousUpdatedAt: number): Promise<void> {
  await t.db.batch([
    t.db.update(credentials).set({ currentVersion: previous, updatedAt: previousUpdatedAt }).where(and(scope(t), eq(credentials.id, credentialId), eq(credentials.currentVersion, added))),
    t.db
      .delete(credentialVersions)
      .where(and(eq(credentialVersions.tenantId, t.tenantId), eq(credentialVersions.credentialId, credentialId), eq(credentialVersions.version, added))),
  ]);
}

/** Undoes `deleteCredential` (an audit entry could not be written) from the rows read before it. */
export async function restoreCredential(t: TenantDb, row: CredentialRow, versions: CredentialVersionRow[]): Promise<void> {
  await t.db.batch([
    t.db.insert(credentials).values(row),
    ...versions.map((v) => t.db.insert(credentialVersions).values(v)),
  ]);
}
