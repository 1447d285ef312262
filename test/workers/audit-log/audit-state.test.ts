import { env, runDurableObjectAlarm } from "cloudflare:test";
import { expect, it } from "vitest";
import { merkleSize } from "../../../durable-objects/audit/merkle-store";
import { vaultStub } from "../../../worker/routes/define";
import { api, expectStatus } from "../helpers";
import { scalar, smallChain, verify, withSql } from "./helpers";

/**
 * The object remembers what it learnt of its own audit log (durable-objects/audit/audit-state.ts)
 * so that a call does not ask storage again whether a checkpoint is due or whether the Merkle tree
 * is complete. These tests pin that the hints never hold anything back: checkpoints land where
 * asking storage every time would put them (AUDIT_CHECKPOINT_EVERY is 10 in tests), also after a
 * checkpoint signed by another path and after the clock passes AUDIT_CHECKPOINT_SECONDS, and a tree
 * held still and rebuilt is extended again by the next append.
 */

const sizes = (tenantId: string) =>
  withSql(tenantId, (sql) =>
    sql
      .exec<{ size: number }>("SELECT size FROM checkpoints ORDER BY size")
      .toArray()
      .map((r) => r.size),
  );

const lease = async (user: string, purpose: string) =>
  expectStatus(await api(user, "POST", "/v1/leases", { credential: "db", purpose }), 201);

it("count-based checkpoints land every AUDIT_CHECKPOINT_EVERY entries, counted from a checkpoint another path signed", async () => {
  // 3 entries (bootstrap, token, credential) + 7 leases: the 10th entry is due at once.
  const { tenantId, adminToken, user } = await smallChain(7);
  expect(await sizes(tenantId)).toEqual([10]);
  for (let i = 0; i < 3; i++) await lease(user, `a${i}`);
  // A checkpoint of the head (13) signed on request, outside the per-call check.
  await expectStatus(await api(adminToken, "GET", "/v1/audit/checkpoints?fresh=true"), 200);
  expect(await sizes(tenantId)).toEqual([10, 13]);
  // 9 more entries: none due yet (22 − 13 < 10); the 10th after 13 is.
  for (let i = 0; i < 9; i++) await lease(user, `b${i}`);
  expect(await sizes(tenantId)).toEqual([10, 13]);
  await lease(user, "b9");
  expect(await sizes(tenantId)).toEqual([10, 13, 23]);
  expect(await verify(adminToken, "", { strict: true })).toMatchObject({ ok: true, checked: 23 });
});

it("a time-based checkpoint lands on the first call after AUDIT_CHECKPOINT_SECONDS, with no new entry count due", async () => {
  const { tenantId, user } = await smallChain(7);
  expect(await sizes(tenantId)).toEqual([10]);
  const stub = vaultStub(env, tenantId);
  const t0 = Date.now();
  await stub.setClockForTest(t0);
  try {
    await lease(user, "early");
    await lease(user, "early-2");
    // Control: 2 entries and no time passed, so nothing is due.
    expect(await sizes(tenantId)).toEqual([10]);
    await stub.setClockForTest(t0 + 61_000);
    await expectStatus(await api(user, "GET", "/v1/whoami"), 200);
    expect(await sizes(tenantId)).toEqual([10, 12]);
  } finally {
    await stub.setClockForTest(null);
  }
});

it("a tree held still by the bench switch is left alone by appends, rebuilt by the alarm, then extended by each append", async () => {
  const { tenantId, adminToken, user } = await smallChain(2);
  const head = () => scalar(tenantId, "SELECT max(seq) AS n FROM audit");
  const tree = () => withSql(tenantId, (sql) => merkleSize(sql));
  expect(await tree()).toBe(await head()); // control: the tree keeps up
  await vaultStub(env, tenantId).benchMerkleSkip(true);
  await lease(user, "skipped");
  const short = await tree();
  expect(short).toBe((await head()) - 1);
  await vaultStub(env, tenantId).benchMerkleSkip(false);
  // Two appends, an odd and an even leaf index: both find the previous leaf missing and leave the tree.
  await lease(user, "short-1");
  await lease(user, "short-2");
  expect(await tree()).toBe(short);
  await withSql(tenantId, (_sql, storage) => storage.setAlarm(Date.now()));
  await runDurableObjectAlarm(vaultStub(env, tenantId));
  expect(await tree()).toBe(await head());
  await lease(user, "after-1");
  await lease(user, "after-2");
  expect(await tree()).toBe(await head());
  expect(await verify(adminToken)).toMatchObject({ ok: true, checked: await head() });
});

it("tree rows removed behind a running object: the next append still lands, and the alarm rebuilds the tree", async () => {
  const { tenantId, adminToken, user } = await smallChain(2);
  await lease(user, "before"); // the object has seen its tree complete
  await withSql(tenantId, (sql) => sql.exec("DELETE FROM audit_hashes"));
  await lease(user, "after the removal");
  const head = await scalar(tenantId, "SELECT max(seq) AS n FROM audit");
  await withSql(tenantId, (_sql, storage) => storage.setAlarm(Date.now()));
  await runDurableObjectAlarm(vaultStub(env, tenantId));
  expect(await withSql(tenantId, (sql) => merkleSize(sql))).toBe(head);
  // The rebuilt tree is the entries' tree: a checkpoint signed from it verifies against them.
  await expectStatus(await api(adminToken, "GET", "/v1/audit/checkpoints?fresh=true"), 200);
  expect(await verify(adminToken, "", { strict: true })).toMatchObject({ ok: true, checked: head });
});
