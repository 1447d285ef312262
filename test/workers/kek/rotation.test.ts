import { abortAllDurableObjects, env, runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { vaultStub } from "../../../worker/routes/define";
import { api, bootstrap, createCredential, expectStatus, tokenWithRole } from "../helpers";
import { decryptStored, drainKekSweep, hex, storedKeks, storedVersions } from "./inspect";

describe("KEK rotation", () => {
  it("rewraps every DEK under concurrent reads and writes and an abort mid-sweep, leaving value blobs untouched", async () => {
    const { tenantId, adminToken } = await bootstrap();
    const manager = await tokenWithRole(adminToken, "manager");
    const names = Array.from({ length: 11 }, (_, i) => `svc/key-${i}`);
    for (const name of names) await createCredential(manager, name, `secret-${name}`);
    const before = new Map(
      (await storedVersions(tenantId)).map((r) => [`${r.credential_id}@${r.version}`, hex(r.value_blob)]),
    );
    expect(before.size).toBe(11);

    const rotated = await expectStatus(await api(adminToken, "POST", "/v1/admin/kek/rotate"), 202);
    expect(rotated).toEqual({ active_version: 2, previous_version: 1 });

    // One batch (KEK_SWEEP_BATCH=3 in tests), with reads and writes racing it.
    const [ran] = await Promise.all([
      runDurableObjectAlarm(vaultStub(env, tenantId)),
      createCredential(manager, "svc/added-during-sweep", "secret-svc/added-during-sweep"),
      api(manager, "POST", `/v1/credentials/${encodeURIComponent("svc/key-0")}/rotate`, {
        value: "secret-svc/key-0-v2",
      }).then((r) => expectStatus(r, 200)),
      api(manager, "GET", "/v1/credentials?limit=100").then((r) => expectStatus(r, 200)),
    ]);
    expect(ran).toBe(true);
    const mid = await storedVersions(tenantId);
    expect(mid.some((r) => r.kek_version === 1)).toBe(true);

    // The Durable Object dies mid-sweep; a new instance resumes from the saved cursor.
    await abortAllDurableObjects();
    await createCredential(manager, "svc/added-after-abort", "secret-svc/added-after-abort");
    await drainKekSweep(tenantId, adminToken);

    const after = await storedVersions(tenantId);
    expect(after).toHaveLength(14);
    for (const row of after) {
      expect(row.kek_version, `${row.credential_id}@${row.version}`).toBe(2);
      const key = `${row.credential_id}@${row.version}`;
      if (before.has(key)) expect(hex(row.value_blob), key).toBe(before.get(key));
    }
    const values = await Promise.all(after.map((r) => decryptStored(tenantId, r)));
    expect(values.sort()).toEqual(
      [
        ...names.map((n) => `secret-${n}`),
        "secret-svc/key-0-v2",
        "secret-svc/added-during-sweep",
        "secret-svc/added-after-abort",
      ].sort(),
    );
    expect(await storedKeks(tenantId)).toEqual([
      { version: 1, state: "destroyed", erased: 1 },
      { version: 2, state: "active", erased: 0 },
    ]);
    const status = await expectStatus(await api(adminToken, "GET", "/v1/admin/kek"), 200);
    expect(status).toMatchObject({ active_version: 2, sweep: { running: false } });
  });

  it("rotates twice in a row and ends with one live KEK", async () => {
    const { tenantId, adminToken } = await bootstrap();
    for (let i = 0; i < 5; i++) await createCredential(adminToken, `k${i}`);
    await expectStatus(await api(adminToken, "POST", "/v1/admin/kek/rotate"), 202);
    await runDurableObjectAlarm(vaultStub(env, tenantId));
    await expectStatus(await api(adminToken, "POST", "/v1/admin/kek/rotate"), 202);
    await drainKekSweep(tenantId, adminToken);
    const rows = await storedVersions(tenantId);
    expect(rows.every((r) => r.kek_version === 3)).toBe(true);
    expect((await storedKeks(tenantId)).map((k) => k.state)).toEqual(["destroyed", "destroyed", "active"]);
    expect(await decryptStored(tenantId, rows[0]!)).toMatch(/^value-of-k\d$/);
  });

  it("is admin-only (manager refused, admin allowed)", async () => {
    const { adminToken } = await bootstrap();
    const manager = await tokenWithRole(adminToken, "manager");
    const denied = await expectStatus<{ error: { code: string } }>(
      await api(manager, "POST", "/v1/admin/kek/rotate"),
      403,
    );
    expect(denied.error.code).toBe("forbidden");
    await expectStatus(await api(adminToken, "POST", "/v1/admin/kek/rotate"), 202);
  });
});
