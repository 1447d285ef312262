import { and, asc, eq, gt, inArray, lte, sql } from "drizzle-orm";
import { credentials, credentialVersions } from "./schema";
import type { TenantDb } from "./tenant-db";

/** A credential row as stored. */
export type CredentialRow = typeof credentials.$inferSelect;
/** A credential version row as stored (ciphertext only). */
export type CredentialVersionRow = typeof credentialVersions.$inferSelect;
/** What a new version stores. */
export type SealedVersion = Pick<
  CredentialVersionRow,
  "version" | "valueBlob" | "wrappedDek" | "kekVersion" | "createdAt" | "createdBy"
>;

const scope = (t: TenantDb) => eq(credentials.tenantId, t.tenantId);

/** Finds a credential by id or by name within the tenant. */
export async function findCredential(t: TenantDb, ref: string): Promise<CredentialRow | undefined> {
  const column = ref.startsWith("cred_") ? credentials.id : credentials.name;
  return t.db
    .select()
    .from(credentials)
    .where(and(scope(t), eq(column, ref)))
    .get();
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
  return t.db
    .select()
    .from(credentials)
    .where(and(...filters))
    .orderBy(asc(credentials.name))
    .limit(q.limit + 1)
    .all();
}

/** Updates metadata fields of a credential. */
export async function updateCredential(
  t: TenantDb,
  credentialId: string,
  patch: Partial<Pick<CredentialRow, "description" | "tags" | "defaultTtl" | "maxTtl" | "acl" | "updatedAt">>,
): Promise<void> {
  await t.db
    .update(credentials)
    .set(patch)
    .where(and(scope(t), eq(credentials.id, credentialId)))
    .run();
}

/** Deletes a credential and every stored version of its value (crypto-shredding the DEKs). */
export async function deleteCredential(t: TenantDb, credentialId: string): Promise<void> {
  await t.db.batch([
    t.db
      .delete(credentialVersions)
      .where(and(eq(credentialVersions.tenantId, t.tenantId), eq(credentialVersions.credentialId, credentialId))),
    t.db.delete(credentials).where(and(scope(t), eq(credentials.id, credentialId))),
  ]);
}

/** Deletes every version up to and including `through` (retention): their DEKs are destroyed with them. */
export async function deleteVersionsThrough(t: TenantDb, credentialId: string, through: number): Promise<void> {
  await t.db
    .delete(credentialVersions)
    .where(
      and(
        eq(credentialVersions.tenantId, t.tenantId),
        eq(credentialVersions.credentialId, credentialId),
        lte(credentialVersions.version, through),
      ),
    )
    .run();
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
export async function getVersion(
  t: TenantDb,
  credentialId: string,
  version: number,
): Promise<CredentialVersionRow | undefined> {
  return t.db
    .select()
    .from(credentialVersions)
    .where(
      and(
        eq(credentialVersions.tenantId, t.tenantId),
        eq(credentialVersions.credentialId, credentialId),
        eq(credentialVersions.version, version),
      ),
    )
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

/** What D1 holds of a credential when an outbox mutation's compare-and-set did not match, or null when the row is gone. */
export type D1Seen = { updatedAt: number; currentVersion: number } | null;

async function seen(t: TenantDb, credentialId: string): Promise<D1Seen> {
  const row = await t.db
    .select({ updatedAt: credentials.updatedAt, currentVersion: credentials.currentVersion })
    .from(credentials)
    .where(and(scope(t), eq(credentials.id, credentialId)))
    .get();
  return row ?? null;
}

/**
 * Outbox form of a create: inserts the first version and the credential, each only if absent, in
 * one batch, so a replay changes nothing. Returns false when the name is held by another
 * credential (written behind the object's back); the orphaned version row is then removed.
 */
export async function applyInsert(
  t: TenantDb,
  row: Omit<CredentialRow, "tenantId">,
  first: SealedVersion,
): Promise<boolean> {
  await t.db.batch([
    t.db
      .insert(credentialVersions)
      .values({ ...first, tenantId: t.tenantId, credentialId: row.id })
      .onConflictDoNothing(),
    t.db
      .insert(credentials)
      .values({ ...row, tenantId: t.tenantId })
      .onConflictDoNothing(),
  ]);
  if ((await seen(t, row.id)) !== null) return true;
  await t.db
    .delete(credentialVersions)
    .where(and(eq(credentialVersions.tenantId, t.tenantId), eq(credentialVersions.credentialId, row.id)))
    .run();
  return false;
}

/**
 * Outbox form of a metadata or ACL change: a compare-and-set on `updated_at`, which matches the
 * prior value (first apply) or the target (replay). Returns what D1 held when neither matched.
 */
export async function applyUpdate(
  t: TenantDb,
  credentialId: string,
  expectedUpdatedAt: number,
  patch: Partial<Pick<CredentialRow, "description" | "tags" | "defaultTtl" | "maxTtl" | "acl">> & { updatedAt: number },
): Promise<{ applied: true } | { applied: false; d1: D1Seen }> {
  const done = await t.db
    .update(credentials)
    .set(patch)
    .where(
      and(
        scope(t),
        eq(credentials.id, credentialId),
        inArray(credentials.updatedAt, [expectedUpdatedAt, patch.updatedAt]),
      ),
    )
    .run();
  return done.meta.changes === 1 ? { applied: true } : { applied: false, d1: await seen(t, credentialId) };
}

/**
 * Outbox form of a rotation: the new version only if absent (a replay finds its own row: ids are
 * the object's), and the move to it as a compare-and-set on `current_version` (prior or target).
 */
export async function applyRotate(
  t: TenantDb,
  credentialId: string,
  fromVersion: number,
  next: SealedVersion,
): Promise<{ applied: true } | { applied: false; d1: D1Seen }> {
  const [, moved] = await t.db.batch([
    t.db
      .insert(credentialVersions)
      .values({ ...next, tenantId: t.tenantId, credentialId })
      .onConflictDoNothing(),
    t.db
      .update(credentials)
      .set({ currentVersion: next.version, updatedAt: next.createdAt })
      .where(
        and(
          scope(t),
          eq(credentials.id, credentialId),
          inArray(credentials.currentVersion, [fromVersion, next.version]),
        ),
      ),
  ]);
  return moved.meta.changes === 1 ? { applied: true } : { applied: false, d1: await seen(t, credentialId) };
}

/** Moves a credential to `version` whatever D1 held (the object's state wins a conflict). */
export async function forceVersion(
  t: TenantDb,
  credentialId: string,
  version: number,
  updatedAt: number,
): Promise<void> {
  await t.db
    .update(credentials)
    .set({ currentVersion: version, updatedAt })
    .where(and(scope(t), eq(credentials.id, credentialId)))
    .run();
}
