import { abortAllDurableObjects, env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { newTenantId } from "../../../worker/core/ids";
import { vaultStub } from "../../../worker/routes/define";
import { api, bootstrap, createCredential, expectStatus } from "../helpers";
import { control } from "../kms/helpers";
import { storedKeks, storedVersions } from "./inspect";

type Mode = "delay" | "error" | "throttle" | "garbage";
const MODES: Mode[] = ["delay", "error", "throttle", "garbage"];
const touched: string[] = [];

/** Injects a fault for one tenant's KMS calls (the emulator scopes faults by encryption context). */
async function fault(tenantId: string, mode: Mode): Promise<void> {
  touched.push(tenantId);
  // delayMs beyond KMS_TIMEOUT_MS (1500 in tests), so the vault gives up first.
  await control("faults", { method: "POST", body: JSON.stringify({ tenantId, mode, delayMs: 3000 }) });
}

async function clear(tenantId: string): Promise<void> {
  await control(`reset?tenantId=${tenantId}`, { method: "POST" });
}

async function kmsCalls(tenantId: string): Promise<Record<string, number>> {
  return ((await control(`stats?tenantId=${tenantId}`)) as { calls: Record<string, number> }).calls;
}

afterEach(async () => {
  for (const t of touched.splice(0)) await clear(t);
});

async function tenantRows(tenantId: string) {
  return env.DB.prepare(
    "SELECT (SELECT count(*) FROM tenants WHERE id = ?1) AS tenants, (SELECT count(*) FROM tenant_keks WHERE tenant_id = ?1) AS keks",
  )
    .bind(tenantId)
    .first();
}

describe("KMS failures answer 503 kms_unavailable and write nothing", () => {
  it.each(MODES)("bootstrap with KMS %s", async (mode) => {
    const tenantId = newTenantId();
    const stub = vaultStub(env, tenantId);
    await fault(tenantId, mode);
    const failed = await stub.bootstrap(tenantId, "req-1", { tenant_name: "t" });
    expect(failed).toEqual({ ok: false, error: { code: "kms_unavailable", message: expect.any(String) } });
    expect(await tenantRows(tenantId)).toEqual({ tenants: 0, keks: 0 });
    // Positive control: the same tenant bootstraps once the KMS is back.
    await clear(tenantId);
    const ok = await stub.bootstrap(tenantId, "req-2", { tenant_name: "t" });
    expect(ok.ok).toBe(true);
    expect(await tenantRows(tenantId)).toEqual({ tenants: 1, keks: 1 });
  });

  it.each(MODES)("credential create on a cold KEK with KMS %s", async (mode) => {
    const { tenantId, adminToken } = await bootstrap();
    await abortAllDurableObjects(); // drop the cached KEK
    await fault(tenantId, mode);
    const res = await api(adminToken, "POST", "/v1/credentials", { name: "db", value: "s3cret" });
    const body = await expectStatus<{ error: { code: string } }>(res, 503);
    expect(body.error.code).toBe("kms_unavailable");
    expect(await storedVersions(tenantId)).toEqual([]);
    await expectStatus(await api(adminToken, "GET", "/v1/credentials/db"), 404);
    await clear(tenantId);
    await createCredential(adminToken, "db", "s3cret");
  });

  it.each(MODES)("KEK rotation with KMS %s", async (mode) => {
    const { tenantId, adminToken } = await bootstrap();
    await fault(tenantId, mode);
    const body = await expectStatus<{ error: { code: string } }>(
      await api(adminToken, "POST", "/v1/admin/kek/rotate"),
      503,
    );
    expect(body.error.code).toBe("kms_unavailable");
    expect(await storedKeks(tenantId)).toEqual([{ version: 1, state: "active", erased: 0 }]);
    await clear(tenantId);
    await expectStatus(await api(adminToken, "POST", "/v1/admin/kek/rotate"), 202);
  });
});

describe("KEK cache", () => {
  it("collapses concurrent cold misses into exactly one KMS Decrypt", async () => {
    const { tenantId, adminToken } = await bootstrap();
    await abortAllDurableObjects();
    touched.push(tenantId);
    await clear(tenantId);
    const results = await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        api(adminToken, "POST", "/v1/credentials", { name: `cold-${i}`, value: `v${i}` }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(25).fill(201));
    expect((await kmsCalls(tenantId)).Decrypt).toBe(1);
    // Warm: more work, still no further KMS call.
    await createCredential(adminToken, "warm");
    expect((await kmsCalls(tenantId)).Decrypt).toBe(1);
  });
});
