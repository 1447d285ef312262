import { env, runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { vaultStub } from "../../../worker/routes/define";
import { api, createCredential, expectStatus } from "../helpers";
import { auditRows, verify } from "../audit-log/helpers";
import { decryptStored, storedKeks, storedVersions } from "../kek/inspect";
import { arm, tenant } from "./outbox-helpers";

/**
 * Issue 18 §2: the KEK sweep interrupted by the object dying mid-batch, or by D1 failing. The
 * sweep resumes, rewraps every DEK once (each rewrap is a compare-and-set), and records its
 * completion once.
 */

async function sweepRunning(adminToken: string): Promise<boolean> {
  return (await expectStatus<{ sweep: { running: boolean } }>(await api(adminToken, "GET", "/v1/admin/kek"), 200)).sweep
    .running;
}

async function drainSweep(tenantId: string, adminToken: string): Promise<void> {
  for (let runs = 0; runs < 50 && (await sweepRunning(adminToken)); runs++)
    await runDurableObjectAlarm(vaultStub(env, tenantId));
  expect(await sweepRunning(adminToken)).toBe(false);
}

async function rotatedTenant() {
  const t = await tenant();
  const names = Array.from({ length: 5 }, (_, i) => `svc/k${i}`);
  for (const name of names) await createCredential(t.manager, name, `secret-${name}`);
  await expectStatus(await api(t.adminToken, "POST", "/v1/admin/kek/rotate"), 202);
  return { ...t, names };
}

async function expectSweptOnce(tenantId: string, adminToken: string, names: string[]): Promise<void> {
  const rows = await storedVersions(tenantId);
  expect(rows.map((r) => r.kek_version)).toEqual(names.map(() => 2));
  expect((await Promise.all(rows.map((r) => decryptStored(tenantId, r)))).sort()).toEqual(
    names.map((n) => `secret-${n}`).sort(),
  );
  const types = (await auditRows(tenantId)).map((r) => (JSON.parse(r.entry) as { type: string }).type);
  expect(types.filter((t) => t === "kek.rotation_completed")).toHaveLength(1);
  expect(types.filter((t) => t === "kek.destroyed")).toHaveLength(1);
  expect(await verify(adminToken)).toMatchObject({ ok: true });
}

describe("KEK sweep faults", () => {
  it("the object aborted mid-KEK-sweep: the next instance resumes and completes the sweep once", async () => {
    const { tenantId, adminToken, names } = await rotatedTenant();
    await arm(tenantId, { abortAt: "mid-kek-sweep" });
    await expect(runDurableObjectAlarm(vaultStub(env, tenantId))).rejects.toThrow();
    const mid = await storedVersions(tenantId);
    // The abort came after the first rewrap of the batch: part of it is done, the rest is not.
    expect(mid.filter((r) => r.kek_version === 2)).toHaveLength(1);
    await drainSweep(tenantId, adminToken);
    await expectSweptOnce(tenantId, adminToken, names);
  });

  it("D1 failing during the sweep: the alarm survives, the sweep waits, and completes once D1 returns", async () => {
    const { tenantId, adminToken, names } = await rotatedTenant();
    await arm(tenantId, { d1Writes: "fail", d1Reads: "fail" });
    await runDurableObjectAlarm(vaultStub(env, tenantId));
    await runDurableObjectAlarm(vaultStub(env, tenantId));
    expect((await storedVersions(tenantId)).every((r) => r.kek_version === 1)).toBe(true);
    await arm(tenantId, null);
    await drainSweep(tenantId, adminToken);
    await expectSweptOnce(tenantId, adminToken, names);
  });

  for (const point of ["after-outbox-commit", "after-d1-write"] as const) {
    it(`the object aborted ${point} of the old KEK's destruction: destroyed once, audited once`, async () => {
      const { tenantId, adminToken, names } = await rotatedTenant();
      await arm(tenantId, { abortAt: point });
      let aborted = false;
      for (let runs = 0; runs < 20 && !aborted && (await sweepRunning(adminToken)); runs++) {
        aborted = await runDurableObjectAlarm(vaultStub(env, tenantId)).then(
          () => false,
          () => true,
        );
      }
      expect(aborted, "the destruction step was reached and the object aborted there").toBe(true);
      await drainSweep(tenantId, adminToken);
      await expectSweptOnce(tenantId, adminToken, names);
      expect(await storedKeks(tenantId)).toEqual([
        { version: 1, state: "destroyed", erased: 1 },
        { version: 2, state: "active", erased: 0 },
      ]);
    });
  }
});
