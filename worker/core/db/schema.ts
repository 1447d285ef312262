import { customType, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/** Binary columns as Uint8Array: D1 hands blobs back as ArrayBuffer or arrays of numbers. */
const bytes = customType<{ data: Uint8Array; driverData: ArrayBuffer | number[] | Uint8Array }>({
  dataType: () => "blob",
  toDriver: (value) => value,
  fromDriver: (value) => (value instanceof Uint8Array ? value : new Uint8Array(value)),
});

/** The states of a tenant in the operator's registry (issue 13 §3). */
export const TENANT_STATUSES = ["active", "suspended", "closed"] as const;

/**
 * Tenants: the operator plane's registry. Created by bootstrap; the tenant's Durable Object is the
 * authority over its rows.
 */
export const tenants = sqliteTable(
  "tenants",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    createdAt: integer("created_at").notNull(),
    status: text("status", { enum: TENANT_STATUSES }).notNull().default("active"),
  },
  // GET /v1/operator/tenants pages by id within a status.
  (t) => [index("tenants_status_id").on(t.status, t.id)],
);

/** Tenant KEK versions, stored only as KMS ciphertext. */
export const tenantKeks = sqliteTable(
  "tenant_keks",
  {
    tenantId: text("tenant_id").notNull(),
    version: integer("version").notNull(),
    /** KMS CiphertextBlob of the 32-byte KEK; null once destroyed. */
    wrappedKek: bytes("wrapped_kek"),
    state: text("state", { enum: ["active", "decrypt_only", "destroyed"] }).notNull(),
    createdAt: integer("created_at").notNull(),
    destroyedAt: integer("destroyed_at"),
    /** The root key that wrapped `wrappedKek` (`<provider>:<key id>`); null for rows older than root-key rotation. */
    rootKey: text("root_key"),
    /** The root-key rotation job that last rewrapped this row, so a resumed job skips it. */
    rootJob: text("root_job"),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.version] })],
);

/** Credential metadata. The value lives in credential_versions, encrypted. */
export const credentials = sqliteTable(
  "credentials",
  {
    tenantId: text("tenant_id").notNull(),
    id: text("id").notNull(),
    name: text("name").notNull(),
    description: text("description").notNull(),
    /** JSON array of tag strings. */
    tags: text("tags").notNull(),
    defaultTtl: integer("default_ttl").notNull(),
    maxTtl: integer("max_ttl").notNull(),
    currentVersion: integer("current_version").notNull(),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
    createdBy: text("created_by").notNull(),
    /** JSON access policy: `{rules: [{effect, identity}], agent_visible}` (worker/contract/schemas/acl.ts). */
    acl: text("acl").notNull().default('{"rules":[],"agent_visible":false}'),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.id] }), uniqueIndex("credentials_tenant_name").on(t.tenantId, t.name)],
);

/** One encrypted value per credential version: value blob + wrapped DEK (format v1). */
export const credentialVersions = sqliteTable(
  "credential_versions",
  {
    tenantId: text("tenant_id").notNull(),
    credentialId: text("credential_id").notNull(),
    version: integer("version").notNull(),
    valueBlob: bytes("value_blob").notNull(),
    wrappedDek: bytes("wrapped_dek").notNull(),
    kekVersion: integer("kek_version").notNull(),
    createdAt: integer("created_at").notNull(),
    createdBy: text("created_by").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.credentialId, t.version] }),
    // The KEK rotation sweep finds rows still on an old KEK version through this index.
    index("credential_versions_tenant_kek").on(t.tenantId, t.kekVersion),
  ],
);
