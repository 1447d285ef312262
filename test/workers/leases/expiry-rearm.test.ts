import { env, runInDurableObject } from "cloudflare:test";
import { expect, it } from "vitest";
import { runAlarm } from "../../../durable-objects/alarm";
import { buildContext } from "../../../durable-objects/build-context";
import { FaultHook } from "../../../durable-objects/outbox/faults";
import { vaultStub } from "../../../worker/routes/define";
import { TEST_BINDINGS } from "../../test-env";
import { bootstrap } from "../helpers";
import { HOUR, makeCredential, MINUTE, SECOND, TestClock } from "./lease-helpers";

const BATCH = Number(TEST_BINDINGS.LEASE_EXPIRY_BATCH);

/**
 * One alarm run of the tenant's object at `now`, with a context whose scheduleAlarm records the
 * times it is asked for (the object's own would clamp them under the test clock).
 */
function alarmRun(tenantId: string, now: number): Promise<{ asked: number[]; pause: number }> {
  return runInDurableObject(vaultStub(env, tenantId), async (_vault, state) => {
    const asked: number[] = [];
    const ctx = buildContext({
      env,
      storage: state.storage,
      tenantId,
      now: () => now,
      scheduleAlarm: async (at) => {
        asked.push(at);
      },
    });
    const faults = new FaultHook(
      () => {},
      async () => {},
    );
    expect(await runAlarm(ctx, tenantId, faults, { failures: 0 }), "no step failed").toBe(false);
    return { asked, pause: ctx.config.LEASE_EXPIRY_PAUSE_MS };
  });
}

it("an expiry backlog re-arms the alarm after the pause, not at its own past deadline (which would fire at once)", async () => {
  const { tenantId, adminToken } = await bootstrap();
  await makeCredential(adminToken, "rearm/key", "rearm-secret", { max_ttl: "1d" });
  const clock = await TestClock.freeze(tenantId);
  const deadline = clock.start + MINUTE;
  const seed = (count: number, expiresAt: number) =>
    vaultStub(env, tenantId).seedLeases({
      token: adminToken,
      requestId: `seed-rearm-${count}`,
      input: { credential: "rearm/key", count, expiresAt },
    });
  // More due than one run expires, and one lease with a later deadline.
  expect(await seed(BATCH + 10, deadline)).toEqual({ ok: true, value: { seeded: BATCH + 10 } });
  expect(await seed(1, deadline + HOUR)).toEqual({ ok: true, value: { seeded: 1 } });
  const now = deadline + SECOND;

  // The run leaves 10 due: it asks for the pause, and for nothing at or before now.
  const first = await alarmRun(tenantId, now);
  expect(first.asked).toContain(now + first.pause);
  expect(first.asked.filter((at) => at <= now)).toEqual([]);

  // Control: once the backlog is gone, the next run re-arms at the next (future) deadline.
  const second = await alarmRun(tenantId, now + first.pause);
  expect(second.asked).toContain(deadline + HOUR);
  expect(second.asked.filter((at) => at <= now + first.pause)).toEqual([]);
});
