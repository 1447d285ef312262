import { createExecutionContext, env, runDurableObjectAlarm, waitOnExecutionContext } from "cloudflare:test";
import worker from "../../../worker/index";
import { expect, it } from "vitest";
import { vaultStub } from "../../../worker/routes/define";
import { merkleSize } from "../../../durable-objects/audit/merkle-store";
import { api, BASE, expectStatus } from "../helpers";
import { scalar, smallChain, withSql } from "./helpers";

/**
 * The TEST_HOOKS-only bench switches of bench/merkle.mjs do what the bench relies on: the lease
 * baseline really skips the tree update (and switching it back on lets the alarm's backfill catch
 * up), and seeding appends rows and leaves together.
 */

it("merkle-skip stops this tenant's tree at its size while entries go on; switched back, the tree is rebuilt", async () => {
  const { tenantId, user } = await smallChain(2);
  const before = await withSql(tenantId, (sql) => merkleSize(sql));
  expect(before).toBe(await scalar(tenantId, "SELECT max(seq) AS n FROM audit")); // control: the tree keeps up
  await vaultStub(env, tenantId).benchMerkleSkip(true);
  await expectStatus(await api(user, "POST", "/v1/leases", { credential: "db", purpose: "skip" }), 201);
  expect(await withSql(tenantId, (sql) => merkleSize(sql))).toBe(before);
  const head = await scalar(tenantId, "SELECT max(seq) AS n FROM audit");
  expect(head).toBeGreaterThan(before);
  // Nor does the alarm's backfill run while the switch is on (it would cost the baseline CPU).
  await runDurableObjectAlarm(vaultStub(env, tenantId));
  expect(await withSql(tenantId, (sql) => merkleSize(sql))).toBe(before);
  await vaultStub(env, tenantId).benchMerkleSkip(false);
  await withSql(tenantId, (_sql, storage) => storage.setAlarm(Date.now()));
  await runDurableObjectAlarm(vaultStub(env, tenantId));
  expect(await withSql(tenantId, (sql) => merkleSize(sql))).toBe(head);
});

it("seed-audit appends rows with their leaves in one go", async () => {
  const { tenantId } = await smallChain(0);
  const head = await scalar(tenantId, "SELECT max(seq) AS n FROM audit");
  expect(await vaultStub(env, tenantId).benchSeedAudit(500)).toEqual({ size: head + 500 });
  expect(await withSql(tenantId, (sql) => merkleSize(sql))).toBe(head + 500);
});

it("both routes are 404 without TEST_HOOKS; with it, a bad body is a 400 naming the field (control)", async () => {
  const { tenantId } = await smallChain(0);
  const post = async (hooks: string, path: string, body: unknown) => {
    const ctx = createExecutionContext();
    const res = await worker.fetch(
      new Request(`${BASE}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      }),
      { ...env, TEST_HOOKS: hooks } as Env,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    return res;
  };
  for (const [path, bad] of [
    [`/v1/bench/merkle-skip/${tenantId}`, { skip: "yes" }],
    [`/v1/bench/seed-audit/${tenantId}`, { count: 0 }],
  ] as const) {
    expect((await post("false", path, bad)).status, path).toBe(404);
    const res = await post("true", path, bad);
    expect(res.status, path).toBe(400);
    expect(await res.text()).toMatch(/skip|count/);
  }
});
