import { z } from "zod";

/** The facts a TenantVault keeps about its tenant, each validated when read back. */
const META = {
  tenant_id: z.string(),
  tenant_name: z.string(),
  created_at: z.number().int(),
  kek_active_version: z.number().int().positive(),
  kek_sweep: z.object({
    cursor: z.object({ credentialId: z.string(), version: z.number().int() }).nullable(),
    rewrapped: z.number().int(),
  }),
  /** KEK versions whose destruction is audited but may not have reached D1 yet (kek/rotation.ts). */
  kek_destroy_pending: z.array(z.number().int().positive()),
  /** Set while an operator has the tenant suspended (ops/suspension.ts): why, when, by whom. */
  tenant_suspended: z.object({ reason: z.string(), at: z.number().int(), by: z.string() }),
} as const;

type MetaKey = keyof typeof META;
type MetaValue<K extends MetaKey> = z.output<(typeof META)[K]>;

/** Reads one meta value, or undefined when unset. */
export function getMeta<K extends MetaKey>(sql: SqlStorage, key: K): MetaValue<K> | undefined {
  const rows = sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = ?", key).toArray();
  if (rows.length === 0) return undefined;
  return META[key].parse(JSON.parse(rows[0]!.value)) as MetaValue<K>;
}

/** Writes one meta value. */
export function setMeta<K extends MetaKey>(sql: SqlStorage, key: K, value: MetaValue<K>): void {
  sql.exec(
    "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    key,
    JSON.stringify(META[key].parse(value)),
  );
}

/** Removes one meta value. */
export function deleteMeta(sql: SqlStorage, key: MetaKey): void {
  sql.exec("DELETE FROM meta WHERE key = ?", key);
}
