import { env, runInDurableObject } from "cloudflare:test";
import { expect, it } from "vitest";
import { vaultStub } from "../../../worker/routes/define";
import { TEST_BINDINGS } from "../../test-env";
import { bootstrap, tokenWithRole } from "../helpers";
import {
  auditOfType,
  expiredLeases,
  getLease,
  HOUR,
  lease,
  makeCredential,
  MINUTE,
  SECOND,
  TestClock,
} from "./lease-helpers";

const COUNT = 10_000;
const BATCH = Number(TEST_BINDINGS.LEASE_EXPIRY_BATCH);

/** Stored lease counts by state, read straight from the Durable Object's SQLite. */
async function storedStates(tenantId: string): Promise<Record<string, number>> {
  return runInDurableObject(vaultStub(env, tenantId), (_vault, state) => {
    const rows = state.storage.sql
      .exec<{ state: string; n: number }>("SELECT state, count(*) AS n FROM leases GROUP BY state")
      .toArray();
    return Object.fromEntries(rows.map((r) => [r.state, r.n]));
  });
}

it(`expires ${COUNT} leases with one deadline in bounded batches, none missed, none twice`, {
  timeout: 60_000,
}, async () => {
  expect(BATCH).toBe(1000);
  const { tenantId, adminToken } = await bootstrap();
  const user = await tokenWithRole(adminToken, "user", "agent:bystander@host");
  await makeCredential(adminToken, "batch/key", "batch-secret", { max_ttl: "1d" });
  const clock = await TestClock.freeze(tenantId);
  const deadline = clock.start + MINUTE;

  const seeded = await vaultStub(env, tenantId).seedLeases({
    token: adminToken,
    requestId: "seed-batch-test",
    input: { credential: "batch/key", count: COUNT, expiresAt: deadline },
  });
  expect(seeded).toEqual({ ok: true, value: { seeded: COUNT } });
  // A lease with a later deadline, which no run may touch.
  const { lease: later } = await lease(user, { credential: "batch/key", ttl: "1h" });
  expect(await storedStates(tenantId)).toEqual({ active: COUNT + 1 });

  // Before the deadline an alarm run expires nothing.
  await clock.set(deadline - SECOND);
  await clock.runAlarm();
  expect(await storedStates(tenantId)).toEqual({ active: COUNT + 1 });

  await clock.set(deadline + SECOND);
  const perRun: number[] = [];
  let expiredSoFar = 0;
  // Bounded: the loop gives up long after the 11 runs it should take.
  for (let run = 0; run < 30 && expiredSoFar < COUNT; run++) {
    expect(await clock.runAlarm(), `alarm armed before run ${run + 1}`).toBe(true);
    const expired = (await storedStates(tenantId)).expired ?? 0;
    perRun.push(expired - expiredSoFar);
    expiredSoFar = expired;
  }
  expect(expiredSoFar).toBe(COUNT);
  expect(perRun.length).toBeGreaterThanOrEqual(Math.ceil(COUNT / BATCH));
  for (const n of perRun) expect(n).toBeLessThanOrEqual(BATCH);
  expect(perRun.reduce((a, b) => a + b, 0)).toBe(COUNT);
  // Once nothing is due, further runs change nothing.
  await clock.runAlarm();
  expect(await storedStates(tenantId)).toEqual({ expired: COUNT, active: 1 });

  const entries = await expiredLeases(adminToken);
  expect(entries).toHaveLength(COUNT);
  const ids = new Set(entries.map((e) => e.lease_id));
  expect(ids.size).toBe(COUNT);
  expect(ids.has(later.id)).toBe(false);
  for (const e of entries) {
    expect(e.item.entry.actor).toEqual({ identity: "system" });
    expect(e.expired_at).toBe(new Date(deadline).toISOString());
  }
  // Every seeded lease has exactly one expiry entry: the created and expired ids are the same set.
  const created = (await auditOfType(adminToken, "lease.created"))
    .map((e) => e.entry.details.lease_id as string)
    .filter((id) => id !== later.id);
  expect(created).toHaveLength(COUNT);
  expect(created.every((id) => ids.has(id))).toBe(true);

  expect(await getLease(user, later.id)).toMatchObject({ state: "active", expires_at: clock.iso(HOUR) });
  // The alarm is re-armed at the next active deadline.
  const alarm = await runInDurableObject(vaultStub(env, tenantId), (_vault, state) => state.storage.getAlarm());
  expect(alarm).toBe(clock.start + HOUR);
});
