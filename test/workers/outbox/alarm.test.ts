import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ALARM_STEPS } from "../../../durable-objects/outbox/faults";
import { vaultStub } from "../../../worker/routes/define";
import { api, expectStatus } from "../helpers";
import { auditRows, verify } from "../audit-log/helpers";
import { TestClock } from "../leases/lease-helpers";
import { arm, tenant } from "./outbox-helpers";

/**
 * Issue 18 §2: the alarm handler failing on every step, and the object dying mid-expiry-batch or
 * mid-checkpoint. Expiries are neither lost nor duplicated; the alarm stays armed and retries.
 */

async function leasesDue(count: number) {
  const t = await tenant();
  await expectStatus(await api(t.manager, "POST", "/v1/credentials", { name: "db", value: "v" }), 201);
  await expectStatus(
    await api(t.manager, "PUT", "/v1/credentials/db/acl", {
      rules: [{ effect: "allow", identity: "agent:*" }],
      agent_visible: true,
    }),
    200,
  );
  const clock = await TestClock.freeze(t.tenantId);
  const ids: string[] = [];
  for (let i = 0; i < count; i++)
    ids.push(
      (
        await expectStatus<{ lease: { id: string } }>(
          await api(t.user, "POST", "/v1/leases", { credential: "db", ttl: 60 }),
          201,
        )
      ).lease.id,
    );
  await clock.at(120_000);
  return { ...t, clock, ids };
}

async function expiredEntries(tenantId: string): Promise<string[]> {
  return (await auditRows(tenantId))
    .map((r) => JSON.parse(r.entry) as { type: string; details: { leases?: { lease_id: string }[] } })
    .filter((e) => e.type === "leases.expired")
    .flatMap((e) => e.details.leases!.map((l) => l.lease_id));
}

const alarmAt = (tenantId: string) =>
  runInDurableObject(vaultStub(env, tenantId), (_i, state) => state.storage.getAlarm());

describe("alarm faults", () => {
  it("every step throwing: nothing is expired or recorded twice, the alarm stays armed, and every due lease expires once when the steps recover", async () => {
    const { tenantId, manager, clock, ids } = await leasesDue(3);
    await arm(tenantId, { failSteps: [...ALARM_STEPS] });
    const entriesBefore = (await auditRows(tenantId)).length;
    for (let run = 0; run < 3; run++) {
      await clock.runAlarm();
      expect(await alarmAt(tenantId), "a failed alarm run re-arms itself").not.toBeNull();
    }
    expect(await auditRows(tenantId)).toHaveLength(entriesBefore);
    expect(await expiredEntries(tenantId)).toEqual([]);

    // Positive control: the same alarm with its steps working expires each lease exactly once.
    await arm(tenantId, null);
    await clock.runAlarm();
    await clock.runAlarm();
    expect((await expiredEntries(tenantId)).sort()).toEqual([...ids].sort());
    expect(await verify(manager)).toMatchObject({ ok: true });
  });

  it("the object aborted mid-expiry-batch: the batch rolls back and the next instance expires each lease once", async () => {
    const { tenantId, manager, clock, ids } = await leasesDue(3);
    await arm(tenantId, { abortAt: "mid-expiry-batch" });
    await expect(clock.runAlarm()).rejects.toThrow();
    // The new instance has lost the test clock; give it back, then its alarm runs the expiry.
    await vaultStub(env, tenantId).setClockForTest(clock.now);
    expect(await expiredEntries(tenantId)).toEqual([]);
    expect(await alarmAt(tenantId), "the restarted object re-arms for leases already due").not.toBeNull();
    await clock.runAlarm();
    expect((await expiredEntries(tenantId)).sort()).toEqual([...ids].sort());
    await clock.runAlarm();
    expect(await expiredEntries(tenantId)).toHaveLength(ids.length);
    expect(await verify(manager)).toMatchObject({ ok: true });
  });

  it("the object aborted mid-checkpoint: no half-written checkpoint, and the next run signs one that verifies", async () => {
    const { tenantId, manager, clock } = await leasesDue(1);
    const checkpoints = () =>
      runInDurableObject(
        vaultStub(env, tenantId),
        (_i, state) => state.storage.sql.exec("SELECT size FROM checkpoints").toArray().length,
      );
    const before = await checkpoints();
    await arm(tenantId, { abortAt: "mid-checkpoint", failSteps: ["expiry"] });
    await clock.at(10 * 60_000);
    await expect(clock.runAlarm()).rejects.toThrow();
    expect(await checkpoints()).toBe(before);
    await vaultStub(env, tenantId).setClockForTest(clock.now);
    await clock.runAlarm();
    expect(await checkpoints()).toBeGreaterThan(before);
    expect(await verify(manager)).toMatchObject({ ok: true });
  });
});
