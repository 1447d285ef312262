import { drizzle, type DrizzleD1Database } from "drizzle-orm/d1";
import * as schema from "./schema";

/**
 * A D1 handle bound to one tenant. Every query function in worker/db takes this instead of a
 * bare database, so a query cannot be written without the tenant it belongs to.
 */
export interface TenantDb {
  readonly db: DrizzleD1Database<typeof schema>;
  readonly tenantId: string;
}

/** Binds the D1 database to a tenant. */
export function tenantDb(d1: D1Database, tenantId: string): TenantDb {
  return { db: drizzle(d1, { schema }), tenantId };
}

/** True when a D1 error is a UNIQUE or PRIMARY KEY violation (SQLite's constraint message). */
export function isUniqueViolation(error: unknown): boolean {
  const text = error instanceof Error ? `${error.message} ${String(error.cause ?? "")}` : String(error);
  return /UNIQUE constraint failed|SQLITE_CONSTRAINT/.test(text);
}
