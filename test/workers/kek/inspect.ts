import { env, runDurableObjectAlarm } from "cloudflare:test";
import { vaultStub } from "../../../worker/routes/define";
import { api, expectStatus } from "../helpers";
import { importTenantKek, openCredentialValue, utf8Decode } from "../../../worker/core/crypto";
import { emulatorProvider } from "../kms/helpers";

/** A credential_versions row as D1 stores it. */
export interface StoredVersion {
  credential_id: string;
  version: number;
  kek_version: number;
  value_blob: ArrayBuffer;
  wrapped_dek: ArrayBuffer;
}

/** Every stored version of a tenant, read straight from D1 (bypassing the vault). */
export async function storedVersions(tenantId: string): Promise<StoredVersion[]> {
  const { results } = await env.DB.prepare(
    "SELECT credential_id, version, kek_version, value_blob, wrapped_dek FROM credential_versions WHERE tenant_id = ? ORDER BY credential_id, version",
  )
    .bind(tenantId)
    .all<StoredVersion>();
  return results;
}

/** The tenant's KEK rows as D1 stores them. */
export async function storedKeks(tenantId: string) {
  const { results } = await env.DB.prepare(
    "SELECT version, state, wrapped_kek IS NULL AS erased FROM tenant_keks WHERE tenant_id = ? ORDER BY version",
  )
    .bind(tenantId)
    .all<{ version: number; state: string; erased: number }>();
  return results;
}

/**
 * Decrypts a stored version independently of the vault: unwraps the tenant KEK through the
 * emulator with its encryption context, then opens the envelope. Proves the stored bytes, not
 * the vault's caches, are sound.
 */
export async function decryptStored(tenantId: string, row: StoredVersion): Promise<string> {
  const kekRow = await env.DB.prepare("SELECT wrapped_kek FROM tenant_keks WHERE tenant_id = ? AND version = ?")
    .bind(tenantId, row.kek_version)
    .first<{ wrapped_kek: ArrayBuffer | null }>();
  if (!kekRow?.wrapped_kek) throw new Error(`KEK v${row.kek_version} is gone`);
  const raw = await emulatorProvider().unwrapKek(new Uint8Array(kekRow.wrapped_kek), {
    tenantId,
    kekVersion: row.kek_version,
  });
  const kek = await importTenantKek(raw, row.kek_version);
  const plaintext = await openCredentialValue(
    { valueBlob: new Uint8Array(row.value_blob), wrappedDek: new Uint8Array(row.wrapped_dek) },
    kek,
    { tenantId, credentialId: row.credential_id, version: row.version },
  );
  return utf8Decode(plaintext);
}

/** Hex of a blob, for byte-for-byte comparisons. */
export function hex(blob: ArrayBuffer): string {
  return Array.from(new Uint8Array(blob), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Runs the tenant's alarm until its KEK sweep has finished (and destroyed the old version); bounded. */
export async function drainKekSweep(tenantId: string, adminToken: string): Promise<void> {
  for (let runs = 0; runs < 200; runs++) {
    const status = await expectStatus<{ sweep: { running: boolean } }>(
      await api(adminToken, "GET", "/v1/admin/kek"),
      200,
    );
    if (!status.sweep.running) return;
    await runDurableObjectAlarm(vaultStub(env, tenantId));
  }
  throw new Error("KEK sweep never finished");
}
