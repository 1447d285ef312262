import { drizzle, type DrizzleD1Database } from "drizzle-orm/d1";
import * as schema from "./schema";

/**
 * A D1 handle bound to one tenant. Every query function in worker/core/db takes this instead of a
 * bare database, so a query cannot be written without the tenant it belongs to.
 */
export interface TenantDb {
  readonly db: DrizzleD1Database<typeof schema>;
  readonly tenantId: string;
}

/**
 * One drizzle instance per D1 binding in the isolate: building one walks the whole schema
 * (relational config), which every cold tenant object paid on its first request (issue 16). It
 * holds no tenant state; the tenant is bound by `TenantDb`.
 */
const DRIZZLE = new WeakMap<D1Database, DrizzleD1Database<typeof schema>>();

/** Binds the D1 database to a tenant. */
export function tenantDb(d1: D1Database, tenantId: string): TenantDb {
  let db = DRIZZLE.get(d1);
  if (db === undefined) DRIZZLE.set(d1, (db = drizzle(d1, { schema })));
  return { db, tenantId };
}

/**
 * True when an error is D1 failing (unreachable, overloaded, timed out, reset) rather than a
 * query the database refused: the caller answers 503 `unavailable`, never a 500. drizzle wraps the
 * driver's error, so the cause chain is searched.
 */
export function isD1Unavailable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    if (/constraint failed|SQLITE_CONSTRAINT/.test(e.message)) return false;
    if (/^D1_|D1 DB|Network connection lost|storage (operation|caused)/i.test(e.message)) return true;
  }
  return false;
}

/**
 * The driver's own message of a D1 error, for logs: drizzle's wrapper repeats the query and its
 * parameters (descriptions, ciphertext), which have no place in a log line.
 */
export function d1Message(error: unknown): string {
  let e: unknown = error;
  for (let depth = 0; e instanceof Error && e.cause instanceof Error && depth < 4; depth++) e = e.cause;
  return (e instanceof Error ? e.message : String(e)).slice(0, 200);
}
