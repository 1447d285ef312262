import { env, runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { vaultStub } from "../../../worker/routes/define";
import { api, createCredential, expectStatus } from "../helpers";
import { auditRows, verify } from "../audit-log/helpers";
import { storedKeks, storedVersions } from "../kek/inspect";
import { arm, pendingOutbox, tenant } from "./outbox-helpers";

/**
 * Issue 18: starting a KEK rotation goes through the outbox like a credential write. The audit
 * entry, the object's active version and the outbox row inserting the D1 `tenant_keks` row are
 * one transaction; D1 is written after. An abort at either point, or D1 failing, leaves D1 and the
 * audit log agreeing once the row is applied, and nothing is sealed under a KEK D1 does not hold.
 */

/** Versions of the tenant's `kek.rotation_started` entries, oldest first. */
async function rotationsAudited(tenantId: string): Promise<number[]> {
  return (await auditRows(tenantId))
    .map((r) => JSON.parse(r.entry) as { type: string; target: { version?: number } | null })
    .filter((e) => e.type === "kek.rotation_started")
    .map((e) => e.target!.version!);
}

async function activeVersion(adminToken: string): Promise<number> {
  return (await expectStatus<{ active_version: number }>(await api(adminToken, "GET", "/v1/admin/kek"), 200))
    .active_version;
}

/** Rows of `version` in D1 and which versions are active there. */
async function d1Keks(tenantId: string, version: number) {
  const rows = await storedKeks(tenantId);
  return {
    rowsOfVersion: rows.filter((r) => r.version === version).length,
    active: rows.filter((r) => r.state === "active").map((r) => r.version),
  };
}

const rotate = (adminToken: string) => api(adminToken, "POST", "/v1/admin/kek/rotate");

describe("starting a KEK rotation through the outbox", () => {
  for (const point of ["after-outbox-commit", "after-d1-write"] as const) {
    it(`aborted ${point}: after restart the new KEK row is in D1 exactly once and the rotation audited once`, async () => {
      const { tenantId, adminToken, manager } = await tenant();
      // Positive control: a rotation with no fault lands in D1 and is audited at once.
      expect(await expectStatus(await rotate(adminToken), 202)).toMatchObject({
        active_version: 2,
        previous_version: 1,
      });
      expect(await d1Keks(tenantId, 2)).toEqual({ rowsOfVersion: 1, active: [2] });

      await arm(tenantId, { abortAt: point });
      expect((await rotate(adminToken)).status).toBeGreaterThanOrEqual(500);
      if (point === "after-outbox-commit") {
        // Proof the abort came before D1: version 3 is not there until the next instance applies it.
        expect(await d1Keks(tenantId, 3)).toEqual({ rowsOfVersion: 0, active: [2] });
      }

      // The next request runs on a new instance, which applies the pending row first.
      expect(await activeVersion(adminToken)).toBe(3);
      expect(await d1Keks(tenantId, 3)).toEqual({ rowsOfVersion: 1, active: [3] });
      expect(await pendingOutbox(tenantId)).toBe(0);
      expect(await rotationsAudited(tenantId)).toEqual([2, 3]);
      expect(await verify(adminToken)).toMatchObject({ ok: true });
      // New values are sealed under the new KEK, and the next rotation takes the next version.
      const created = await createCredential(manager, "after-abort");
      expect((await storedVersions(tenantId)).find((r) => r.credential_id === created.id)?.kek_version).toBe(3);
      expect(await expectStatus(await rotate(adminToken), 202)).toMatchObject({
        active_version: 4,
        previous_version: 3,
      });
      expect(await rotationsAudited(tenantId)).toEqual([2, 3, 4]);
    });
  }

  it("D1 failing at apply: the rotation is answered and queued, nothing seals under it until D1 returns, then it is applied once", async () => {
    const { tenantId, adminToken, manager } = await tenant();
    // Positive control: with D1 up, a credential is sealed under the active KEK.
    const control = await createCredential(manager, "control");
    expect((await storedVersions(tenantId)).map((r) => [r.credential_id, r.kek_version])).toEqual([[control.id, 1]]);

    await arm(tenantId, { d1Writes: "fail" });
    expect(await expectStatus(await rotate(adminToken), 202)).toMatchObject({ active_version: 2, previous_version: 1 });
    expect(await d1Keks(tenantId, 2)).toEqual({ rowsOfVersion: 0, active: [1] });
    expect(await pendingOutbox(tenantId)).toBe(1);
    expect(await rotationsAudited(tenantId)).toEqual([2]);

    // A write that would seal under version 2 is refused while its D1 row is pending, and changes nothing.
    const refused = await api(manager, "POST", "/v1/credentials", { name: "during-outage", value: "v" });
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({ error: { code: "unavailable" } });
    expect((await storedVersions(tenantId)).map((r) => r.credential_id)).toEqual([control.id]);
    expect((await auditRows(tenantId)).some((r) => r.entry.includes("during-outage"))).toBe(false);

    // D1 returns: the alarm applies the pending row, once.
    await arm(tenantId, null);
    await runDurableObjectAlarm(vaultStub(env, tenantId));
    expect(await pendingOutbox(tenantId)).toBe(0);
    expect(await d1Keks(tenantId, 2)).toEqual({ rowsOfVersion: 1, active: [2] });
    expect(await rotationsAudited(tenantId)).toEqual([2]);
    const after = await createCredential(manager, "after-outage");
    expect((await storedVersions(tenantId)).find((r) => r.credential_id === after.id)?.kek_version).toBe(2);
    expect(await verify(adminToken)).toMatchObject({ ok: true });
  });

  it("D1 failing before the intent (reading the KEK versions): 503 and nothing changes; the same rotation succeeds once D1 returns", async () => {
    const { tenantId, adminToken } = await tenant();
    await arm(tenantId, { d1Reads: "fail", d1Writes: "fail" });
    const refused = await rotate(adminToken);
    expect(refused.status).toBe(503);
    expect(await pendingOutbox(tenantId)).toBe(0);
    expect(await rotationsAudited(tenantId)).toEqual([]);
    await arm(tenantId, null);
    expect(await activeVersion(adminToken)).toBe(1);
    // Positive control: with D1 back, the same rotation goes through.
    expect(await expectStatus(await rotate(adminToken), 202)).toMatchObject({ active_version: 2, previous_version: 1 });
    expect(await d1Keks(tenantId, 2)).toEqual({ rowsOfVersion: 1, active: [2] });
    expect(await rotationsAudited(tenantId)).toEqual([2]);
  });

  it("two rotations started at once run one after the other: versions 2 and 3, each in D1 once and audited once", async () => {
    const { tenantId, adminToken } = await tenant();
    const answers = await Promise.all([rotate(adminToken), rotate(adminToken)]);
    expect(answers.map((r) => r.status)).toEqual([202, 202]);
    const started = await Promise.all(
      answers.map((r) => r.json() as Promise<{ active_version: number; previous_version: number }>),
    );
    expect(started.map((b) => [b.previous_version, b.active_version]).sort()).toEqual([
      [1, 2],
      [2, 3],
    ]);
    expect(await d1Keks(tenantId, 3)).toEqual({ rowsOfVersion: 1, active: [3] });
    expect((await storedKeks(tenantId)).map((r) => r.version)).toEqual([1, 2, 3]);
    expect(await rotationsAudited(tenantId)).toEqual([2, 3]);
    expect(await activeVersion(adminToken)).toBe(3);
  });
});
