import { env, runInDurableObject } from "cloudflare:test";
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { operatorPlane } from "../../../worker/middleware/operator-auth";
import { api, createCredential, expectStatus } from "../helpers";
import { auditRows } from "../audit-log/helpers";
import { lease } from "../leases/lease-helpers";
import { namedOperator, op, ROOT, runJob, startJob, tenants } from "./helpers";

/**
 * The value sweep of the operator plane: every fleet action run against a tenant holding a canary
 * value, and every operator answer, log line, tenant audit entry and operator log entry searched
 * for the value and for raw operator or tenant tokens. Also: the operator log's chain check fails
 * when a row is edited (and the row is put back, since the plane is shared by every test file).
 */

let lines: string[];
beforeEach(() => {
  lines = [];
  for (const m of ["log", "info", "warn", "error", "debug"] as const)
    vi.spyOn(console, m).mockImplementation(
      (...args: unknown[]) =>
        void lines.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" ")),
    );
});
afterEach(() => vi.restoreAllMocks());

it("no value or raw token reaches an operator answer, a log line, a tenant's chain or the operator log", {
  timeout: 60_000,
}, async () => {
  const canary = `CANARY-OP-${crypto.randomUUID()}`;
  const [t] = await tenants(1, "op-canary");
  await createCredential(t!.adminToken, "canary/cred", canary);
  expect((await lease(t!.adminToken, { credential: "canary/cred", ttl: "5m" })).value).toBe(canary);
  const alice = await namedOperator("canary-op");
  const answers: string[] = [];
  const from = new Date(Date.now() - 3_600_000).toISOString();
  const to = new Date(Date.now() + 60_000).toISOString();
  for (const body of [
    { kind: "verify_audit", tenants: [t!.tenantId], from, to },
    { kind: "impact", tenants: [t!.tenantId], from, to },
    { kind: "rotate_kek", tenants: [t!.tenantId] },
    { kind: "rewrap_root", tenants: [t!.tenantId] },
    { kind: "revoke_leases", tenants: [t!.tenantId], reason: "canary drill" },
  ]) {
    const done = await runJob((await startJob(body, alice.token)).id);
    expect(done.progress.done, body.kind).toBe(1);
    answers.push(JSON.stringify(done));
    if (body.kind === "impact") answers.push(await (await op("GET", `/jobs/${done.id}/disclosures`)).text());
  }
  answers.push(
    await (await op("GET", "/log?limit=500")).text(),
    await (await op("GET", "/tokens")).text(),
    await (await op("GET", "/tenants?limit=500")).text(),
  );
  // The value still leases after all of it (positive control that the canary was really there).
  expect((await lease(t!.adminToken, { credential: "canary/cred", ttl: "5m" })).value).toBe(canary);
  const entries = (await auditRows(t!.tenantId)).map((r) => r.entry);
  const everything = [...answers, ...lines, ...entries].join("\n");
  for (const secret of [canary, ROOT, alice.token, t!.adminToken]) expect(everything).not.toContain(secret);
  expect(entries.filter((e) => e.includes("operator:canary-op")).length).toBeGreaterThanOrEqual(5);
});

it("the operator log's chain check reports an edited entry (restored afterwards); the untouched log verifies", async () => {
  await namedOperator("tamper-probe");
  const ok = await expectStatus<{ chain: { ok: boolean } }>(await op("GET", "/log?limit=1"), 200);
  expect(ok.chain.ok).toBe(true);
  const stub = operatorPlane(env);
  const original = await runInDurableObject(stub, (_i, state) =>
    state.storage.sql
      .exec<{ seq: number; entry: string }>("SELECT seq, entry FROM operator_log ORDER BY seq DESC LIMIT 1")
      .one(),
  );
  try {
    await runInDurableObject(stub, (_i, state) =>
      state.storage.sql.exec(
        "UPDATE operator_log SET entry = replace(entry, 'tamper-probe', 'someone-else') WHERE seq = ?",
        original.seq,
      ),
    );
    const bad = await expectStatus<{ chain: { ok: boolean; seq?: number } }>(await op("GET", "/log?limit=1"), 200);
    expect(bad.chain).toEqual({ ok: false, seq: original.seq });
  } finally {
    await runInDurableObject(stub, (_i, state) =>
      state.storage.sql.exec("UPDATE operator_log SET entry = ? WHERE seq = ?", original.entry, original.seq),
    );
  }
  expect((await expectStatus<{ chain: { ok: boolean } }>(await op("GET", "/log?limit=1"), 200)).chain.ok).toBe(true);
  await expectStatus(await api(ROOT, "GET", "/v1/whoami"), 401);
});
