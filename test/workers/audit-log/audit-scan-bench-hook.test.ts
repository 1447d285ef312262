import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import worker from "../../../worker/index";
import { expect, it } from "vitest";
import { vaultStub } from "../../../worker/routes/define";
import { BASE, expectStatus } from "../helpers";
import { smallChain, withSql } from "./helpers";

/**
 * The TEST_HOOKS-only floor of audit verification (issue 16 goal 3, bench/scenarios/audit-kms.mjs):
 * it reads and hashes exactly the rows verify reads, so verify ÷ it measures only the checks.
 */

async function get(hooks: string, path: string): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`${BASE}${path}`), { ...env, TEST_HOOKS: hooks } as Env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

it("audit-scan reads and hashes the requested rows, clamped to the head, and counts a row whose hash does not match", async () => {
  const { tenantId, size } = await smallChain(3);
  const all = await vaultStub(env, tenantId).benchAuditScan(1, 1_000_000_000);
  expect(all).toMatchObject({ rows: size, mismatches: 0 });
  expect(all.chars).toBeGreaterThan(size * 100);
  expect(await vaultStub(env, tenantId).benchAuditScan(2, 4)).toMatchObject({ rows: 3, mismatches: 0 });
  // It really hashes: a stored hash that is not SHA-256 of the stored bytes is counted.
  await withSql(tenantId, (sql) => sql.exec("UPDATE audit SET hash = ? WHERE seq = 2", "0".repeat(64)));
  expect(await vaultStub(env, tenantId).benchAuditScan(1, size)).toMatchObject({ rows: size, mismatches: 1 });
});

it("the route is 404 without TEST_HOOKS; with it, a bad range is a 400 naming the field and a good one answers (control)", async () => {
  const { tenantId, size } = await smallChain(0);
  expect((await get("false", `/v1/bench/audit-scan/${tenantId}?from_seq=1&to_seq=${size}`)).status).toBe(404);
  for (const [query, field] of [
    ["from_seq=0&to_seq=2", "from_seq"],
    ["from_seq=3&to_seq=2", "to_seq"],
    ["from_seq=1", "to_seq"],
    ["from_seq=x&to_seq=2", "from_seq"],
  ] as const) {
    const res = await get("true", `/v1/bench/audit-scan/${tenantId}?${query}`);
    expect(res.status, query).toBe(400);
    expect(await res.text(), query).toContain(field);
  }
  expect(
    await expectStatus(await get("true", `/v1/bench/audit-scan/${tenantId}?from_seq=1&to_seq=${size}`), 200),
  ).toMatchObject({ rows: size, mismatches: 0 });
});
