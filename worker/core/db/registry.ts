import { and, asc, eq, gt, inArray, isNotNull, isNull, ne, or } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import * as schema from "./schema";
import { tenantKeks, tenants, TENANT_STATUSES } from "./schema";
import type { TenantDb } from "./tenant-db";

/**
 * The tenant registry (issue 13 §3): the operator plane's cross-tenant reads of D1. Tenant rows are
 * written only by the tenant's Durable Object (bootstrap, and `setTenantStatus` on an operator's
 * suspend or reactivate); the other functions only read, behind operator authentication.
 */

/** One tenant's status. */
export type TenantStatus = (typeof TENANT_STATUSES)[number];

/** A registry row as the operator API shows it. */
export interface RegisteredTenant {
  id: string;
  name: string;
  createdAt: number;
  status: TenantStatus;
}

/** One page of tenants ordered by id, after `after`, optionally of one status; `limit + 1` rows are read to know if more follow. */
export async function listTenants(
  d1: D1Database,
  q: { status?: TenantStatus; after?: string; limit: number },
): Promise<{ items: RegisteredTenant[]; next: string | null }> {
  const db = drizzle(d1, { schema });
  const rows = await db
    .select()
    .from(tenants)
    .where(and(q.status ? eq(tenants.status, q.status) : undefined, q.after ? gt(tenants.id, q.after) : undefined))
    .orderBy(asc(tenants.id))
    .limit(q.limit + 1)
    .all();
  const items = rows.slice(0, q.limit);
  return { items, next: rows.length > q.limit ? items.at(-1)!.id : null };
}

/**
 * Records a tenant's status in the registry. Written only by the tenant's own Durable Object,
 * which holds the authoritative status (ops/suspension.ts); this row serves the operator's listing.
 */
export async function setTenantStatus(t: TenantDb, status: TenantStatus): Promise<void> {
  await t.db.update(tenants).set({ status }).where(eq(tenants.id, t.tenantId)).run();
}

/** Which of `ids` are registered tenants (any status). */
export async function existingTenantIds(d1: D1Database, ids: readonly string[]): Promise<Set<string>> {
  const found = new Set<string>();
  // Paged by 50 ids: D1 caps bound parameters per query at 100.
  for (let i = 0; i < ids.length; i += 50) {
    const chunk = ids.slice(i, i + 50);
    const rows = await drizzle(d1, { schema })
      .select({ id: tenants.id })
      .from(tenants)
      .where(inArray(tenants.id, [...chunk]))
      .all();
    for (const r of rows) found.add(r.id);
  }
  return found;
}

/** A tenant's KEK rows that still hold a wrapped KEK (not destroyed): what root-key rotation rewraps. */
export async function liveKekRows(t: TenantDb) {
  return t.db
    .select({
      version: tenantKeks.version,
      wrappedKek: tenantKeks.wrappedKek,
      rootKey: tenantKeks.rootKey,
      rootJob: tenantKeks.rootJob,
    })
    .from(tenantKeks)
    .where(and(eq(tenantKeks.tenantId, t.tenantId), isNotNull(tenantKeks.wrappedKek)))
    .orderBy(asc(tenantKeks.version))
    .all();
}

/**
 * Stores a KEK rewrapped under the current root, only if the row still holds a wrapped KEK and was
 * not already rewrapped by this job (compare-and-set): a resumed job, or one racing a KEK
 * destruction, never overwrites newer state. True if the row changed.
 */
export async function replaceWrappedKek(
  t: TenantDb,
  version: number,
  wrappedKek: Uint8Array,
  root: { rootKey: string; job: string },
): Promise<boolean> {
  const res = await t.db
    .update(tenantKeks)
    .set({ wrappedKek, rootKey: root.rootKey, rootJob: root.job })
    .where(
      and(
        eq(tenantKeks.tenantId, t.tenantId),
        eq(tenantKeks.version, version),
        isNotNull(tenantKeks.wrappedKek),
        or(isNull(tenantKeks.rootJob), ne(tenantKeks.rootJob, root.job)),
      ),
    )
    .run();
  return res.meta.changes === 1;
}
