import { env } from "cloudflare:test";
import type { Faults } from "../../../durable-objects/outbox/faults";
import { vaultStub } from "../../../worker/routes/define";
import { api, bootstrap, expectStatus, tokenWithRole } from "../helpers";
import { auditRows, withSql } from "../audit-log/helpers";

/** A fresh tenant with a manager (writes) and a user (leases). */
export async function tenant() {
  const { tenantId, adminToken } = await bootstrap();
  const manager = await tokenWithRole(adminToken, "manager", "user:manager@acme.test");
  const user = await tokenWithRole(adminToken, "user", "agent:worker@host");
  return { tenantId, adminToken, manager, user };
}

/** Arms (null clears) the tenant object's test-only faults. */
export function arm(tenantId: string, faults: Faults): Promise<void> {
  return vaultStub(env, tenantId).setFaultsForTest(faults);
}

/** What D1 holds of one credential, read straight from the binding (never through the object). */
export async function d1State(credentialId: string) {
  const row = await env.DB.prepare(
    "SELECT name, description, current_version, acl, updated_at FROM credentials WHERE id = ?",
  )
    .bind(credentialId)
    .first<{
      name: string;
      description: string;
      current_version: number;
      acl: string;
      updated_at: number;
    }>();
  const { results } = await env.DB.prepare(
    "SELECT version FROM credential_versions WHERE credential_id = ? ORDER BY version",
  )
    .bind(credentialId)
    .all<{ version: number }>();
  return { row, versions: results.map((r) => r.version) };
}

/** The tenant's D1 credential ids, straight from the binding. */
export async function d1CredentialIds(tenantId: string): Promise<string[]> {
  const { results } = await env.DB.prepare("SELECT id FROM credentials WHERE tenant_id = ? ORDER BY id")
    .bind(tenantId)
    .all<{ id: string }>();
  return results.map((r) => r.id);
}

/** The types of the tenant's audit entries that concern a credential, oldest first (read from storage). */
export async function credentialAudit(
  tenantId: string,
): Promise<{ type: string; id: string | null; details: Record<string, unknown> }[]> {
  return (await auditRows(tenantId))
    .map(
      (r) => JSON.parse(r.entry) as { type: string; target: { id: string } | null; details: Record<string, unknown> },
    )
    .filter((e) => /^(credential|acl|integrity)\./.test(e.type))
    .map((e) => ({ type: e.type, id: e.target?.id ?? null, details: e.details }));
}

/** Rows still pending in the tenant's outbox. */
export function pendingOutbox(tenantId: string): Promise<number> {
  return withSql(tenantId, (sql) => Number(sql.exec<{ n: number }>("SELECT count(*) AS n FROM d1_outbox").one().n));
}

/** GET /v1/credentials/{name} as the manager: the body or the status. */
export async function getCredential(token: string, name: string) {
  return expectStatus<{ id: string; current_version: number; description: string }>(
    await api(token, "GET", `/v1/credentials/${encodeURIComponent(name)}`),
    200,
  );
}
