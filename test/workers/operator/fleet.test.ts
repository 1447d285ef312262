import { env, runDurableObjectAlarm } from "cloudflare:test";
import { operatorPlane } from "../../../worker/middleware/operator-auth";
import { beforeAll, describe, expect, it } from "vitest";
import { signOperatorProof } from "../../../worker/core/operator/proof";
import { vaultStub } from "../../../worker/routes/define";
import { api, createCredential, expectStatus, type ErrorBody } from "../helpers";
import { auditRows, verify, withSql } from "../audit-log/helpers";
import { lease } from "../leases/lease-helpers";
import { setFault } from "../kms/helpers";
import { job, namedOperator, op, runJob, startJob, tenants } from "./helpers";

/**
 * Issue 13 §3: fleet actions over several tenants with bounded fan-out (OPERATOR_JOB_CONCURRENCY
 * is 3 in tests, so four tenants take two batches), each action in each affected tenant's chain as
 * `operator:<name>`, tenants not selected untouched, bad input refused before anything runs.
 */

type Entry = { type: string; actor: { identity: string }; request_id: string | null; details: Record<string, unknown> };
const entries = async (tenantId: string): Promise<Entry[]> =>
  (await auditRows(tenantId)).map((r) => JSON.parse(r.entry) as Entry);

describe("the tenant registry", () => {
  it("lists bootstrapped tenants as active, pages by id, filters by status, and refuses bad queries", async () => {
    const [a] = await tenants(1, "registry");
    const seen: { id: string; name: string; status: string }[] = [];
    let after = "";
    for (let page = 0; page < 100; page++) {
      const res = await expectStatus<{ items: typeof seen; next_after: string | null }>(
        await op("GET", `/tenants?limit=500${after ? `&after=${after}` : ""}`),
        200,
      );
      seen.push(...res.items);
      if (res.next_after === null) break;
      after = res.next_after;
    }
    expect(seen.find((t) => t.id === a!.tenantId)).toMatchObject({ name: "registry-0", status: "active" });
    expect([...seen.map((t) => t.id)]).toEqual([...seen.map((t) => t.id)].sort());
    const suspended = await expectStatus<{ items: { id: string }[] }>(
      await op("GET", "/tenants?status=suspended"),
      200,
    );
    expect(suspended.items.map((t) => t.id)).not.toContain(a!.tenantId);
    for (const q of ["status=bogus", "limit=0", "limit=501", "after=nothex", "extra=1"]) {
      expect((await expectStatus<ErrorBody>(await op("GET", `/tenants?${q}`), 400)).error.code).toBe(
        "validation_failed",
      );
    }
  });
});

describe("fleet jobs", () => {
  let fleet: { tenantId: string; adminToken: string }[];
  beforeAll(async () => {
    fleet = await tenants(4);
    for (const t of fleet) await createCredential(t.adminToken, "db/password", `pw-${t.tenantId}`);
  });

  it("verify: every selected chain is checked in batches of 3, recorded in each chain; a tampered chain is reported, the others pass", async () => {
    const [victim] = fleet;
    const first = await startJob({ kind: "verify_audit", tenants: fleet.map((t) => t.tenantId) });
    expect(first.progress).toEqual({ total: 4, pending: 4, done: 0, failed: 0 });
    // One alarm run is one batch: at most OPERATOR_JOB_CONCURRENCY (3) tenants.
    await runDurableObjectAlarm(operatorPlane(env));
    expect((await job(first.id)).progress).toEqual({ total: 4, pending: 1, done: 3, failed: 0 });
    const done = await runJob(first.id);
    expect(done.progress).toEqual({ total: 4, pending: 0, done: 4, failed: 0 });
    expect(done.tenants.every((t) => t.result?.ok === true && t.attempts === 1)).toBe(true);
    for (const t of fleet) {
      const mine = (await entries(t.tenantId)).filter((e) => e.type === "operator.audit_verified");
      expect(mine).toEqual([
        expect.objectContaining({
          actor: expect.objectContaining({ identity: "operator:root" }),
          request_id: first.id,
        }),
      ]);
    }
    // Tamper with one tenant's second entry; the fleet check names that tenant and seq only.
    await withSql(victim!.tenantId, (sql) =>
      sql.exec("UPDATE audit SET entry = replace(entry, 'db/password', 'db/passw0rd') WHERE seq = 2"),
    );
    const second = await runJob((await startJob({ kind: "verify_audit", tenants: fleet.map((t) => t.tenantId) })).id);
    const byTenant = new Map(second.tenants.map((t) => [t.tenant_id, t.result]));
    expect(byTenant.get(victim!.tenantId)).toMatchObject({ ok: false, seq: 2 });
    for (const t of fleet.slice(1)) expect(byTenant.get(t.tenantId)).toMatchObject({ ok: true });
  });

  it("rotate KEKs: selected tenants get a new active version by operator:<name>; the tenant left out keeps its own", async () => {
    const alice = await namedOperator("alice-rotate");
    const [a, b, c] = fleet.slice(1);
    const started = await startJob({ kind: "rotate_kek", tenants: [a!.tenantId, b!.tenantId] }, alice.token);
    expect(started.operator).toBe("operator:alice-rotate");
    const done = await runJob(started.id);
    expect(done.progress.done).toBe(2);
    for (const t of [a!, b!]) {
      expect(
        (await expectStatus<{ active_version: number }>(await api(t.adminToken, "GET", "/v1/admin/kek"), 200))
          .active_version,
      ).toBe(2);
      const rotation = (await entries(t.tenantId)).find((e) => e.type === "kek.rotation_started");
      expect(rotation).toMatchObject({ actor: { identity: "operator:alice-rotate" }, request_id: started.id });
    }
    expect(
      (await expectStatus<{ active_version: number }>(await api(c!.adminToken, "GET", "/v1/admin/kek"), 200))
        .active_version,
    ).toBe(1);
    expect((await entries(c!.tenantId)).some((e) => e.type === "kek.rotation_started")).toBe(false);
    // The chains still verify after the operator's entries.
    for (const t of [a!, b!, c!]) expect(await verify(t.adminToken)).toMatchObject({ ok: true });
  });

  it("revoke leases: every active lease of the selected tenants ends, each recorded; another tenant's lease stays active", async () => {
    const [a, b] = fleet.slice(2);
    const held = await lease(a!.adminToken, { credential: "db/password", ttl: "1h" });
    const kept = await lease(b!.adminToken, { credential: "db/password", ttl: "1h" });
    const done = await runJob(
      (await startJob({ kind: "revoke_leases", tenants: [a!.tenantId], reason: "incident 42" })).id,
    );
    expect(done.tenants[0]!.result).toEqual({ revoked: 1 });
    expect(
      (await expectStatus<{ state: string }>(await api(a!.adminToken, "GET", `/v1/leases/${held.lease.id}`), 200))
        .state,
    ).toBe("revoked");
    expect(
      (await expectStatus<{ state: string }>(await api(b!.adminToken, "GET", `/v1/leases/${kept.lease.id}`), 200))
        .state,
    ).toBe("active");
    const revoked = (await entries(a!.tenantId)).filter((e) => e.type.startsWith("lease.revoked"));
    expect(revoked.map((e) => [e.type, e.actor.identity])).toEqual([
      ["lease.revoked", "operator:root"],
      ["lease.revoked_matching", "operator:root"],
    ]);
  });

  it("impact and disclosure: a draft for each tenant with leases in the window, none for the others, as JSON and Markdown", async () => {
    const [a, quiet] = fleet;
    const from = new Date(Date.now() - 60_000).toISOString();
    await lease(a!.adminToken, { credential: "db/password", ttl: "10m", agent: { name: "claude-code" } });
    const to = new Date(Date.now() + 60_000).toISOString();
    // Another tenant's lease in the same window must not appear in a's draft.
    const impactJob = await runJob(
      (await startJob({ kind: "impact", tenants: [a!.tenantId, quiet!.tenantId], from, to })).id,
    );
    expect(impactJob.progress.done).toBe(2);
    const drafts = await expectStatus<{
      items: { tenant_id: string; json: Record<string, unknown>; markdown: string }[];
    }>(await op("GET", `/jobs/${impactJob.id}/disclosures`), 200);
    expect(drafts.items.map((d) => d.tenant_id)).toEqual([a!.tenantId]);
    const d = drafts.items[0]!;
    expect(d.json).toMatchObject({
      tenant_id: a!.tenantId,
      tenant_name: "fleet-0",
      window: { from, to },
      accessed: [expect.objectContaining({ credential_name: "db/password", leases: 1, still_active: 1 })],
    });
    expect(d.markdown).toContain("db/password");
    expect(d.markdown).toContain("## What you must do");
    expect(JSON.stringify(drafts)).not.toContain(`pw-${a!.tenantId}`);
    expect(
      (await entries(a!.tenantId)).some((e) => e.type === "incident.report" && e.actor.identity === "operator:root"),
    ).toBe(true);
    // Drafts come from impact jobs only.
    const verifyJob = await runJob((await startJob({ kind: "verify_audit", tenants: [quiet!.tenantId] })).id);
    expect((await expectStatus<ErrorBody>(await op("GET", `/jobs/${verifyJob.id}/disclosures`), 409)).error.code).toBe(
      "conflict",
    );
  });

  it("bad job requests are 4xx naming the problem, and start nothing", async () => {
    const before = (await expectStatus<{ items: unknown[] }>(await op("GET", "/jobs"), 200)).items.length;
    const unknown = "f".repeat(20);
    const res = await expectStatus<ErrorBody>(
      await op("POST", "/jobs", { kind: "verify_audit", tenants: [fleet[0]!.tenantId, unknown] }),
      404,
    );
    expect(res.error.message).toContain(unknown);
    for (const body of [
      { kind: "explode", tenants: "all" },
      { kind: "revoke_leases", tenants: "all", reason: "x" },
      { kind: "revoke_leases", tenants: [fleet[0]!.tenantId] },
      { kind: "impact", tenants: "all", from: "2026-01-02T00:00:00Z", to: "2026-01-01T00:00:00Z" },
      { kind: "verify_audit", tenants: [] },
      { kind: "verify_audit", tenants: ["nothex"] },
      { kind: "verify_audit", tenants: [fleet[0]!.tenantId, fleet[0]!.tenantId] },
      { kind: "rotate_kek", tenants: "all", extra: 1 },
    ]) {
      expect(
        (await expectStatus<ErrorBody>(await op("POST", "/jobs", body), 400)).error.code,
        JSON.stringify(body),
      ).toBe("validation_failed");
    }
    expect((await expectStatus<{ items: unknown[] }>(await op("GET", "/jobs"), 200)).items.length).toBe(before);
    await expectStatus(await op("GET", "/jobs/job_nope"), 400);
    await expectStatus(await op("GET", `/jobs/job_${"0".repeat(24)}`), 404);
  });

  it("the tenant object acts only on a fresh proof signed for it and the action; a forged, foreign, stale or re-aimed one is refused", async () => {
    const [a, b] = fleet;
    const action = { action: "verify_audit" as const };
    const payload = {
      v: 1 as const,
      operator: "operator:root",
      token_id: "root",
      tenant_id: a!.tenantId,
      job_id: `job_${"1".repeat(24)}`,
      action: JSON.stringify(action),
      issued_at: Date.now(),
    };
    const good = await signOperatorProof(env.TOKEN_PEPPER, payload);
    const stub = vaultStub(env, a!.tenantId);
    expect(await stub.operatorAction(good, action)).toMatchObject({ ok: true });
    const refusals = [
      { ...good, mac: "0".repeat(64) },
      await signOperatorProof("ab".repeat(32), payload),
      await signOperatorProof(env.TOKEN_PEPPER, { ...payload, tenant_id: b!.tenantId }),
      await signOperatorProof(env.TOKEN_PEPPER, { ...payload, issued_at: Date.now() - 10 * 60_000 }),
    ];
    for (const proof of refusals)
      expect(await stub.operatorAction(proof, action)).toMatchObject({ ok: false, error: { code: "unauthorized" } });
    // A proof for verify cannot rotate; a malformed proof is refused before the input is looked at.
    expect(await stub.operatorAction(good, { action: "rotate_kek" })).toMatchObject({
      ok: false,
      error: { code: "unauthorized" },
    });
    expect(await stub.operatorAction({ nonsense: true } as never, { bogus: 1 })).toMatchObject({
      ok: false,
      error: { code: "unauthorized" },
    });
    expect(
      (await expectStatus<{ active_version: number }>(await api(a!.adminToken, "GET", "/v1/admin/kek"), 200))
        .active_version,
    ).toBe(1);
  });

  it("a tenant whose KMS keeps failing is retried, then marked failed with the reason and recorded in its chain; the others finish; once the KMS is back it succeeds", async () => {
    const [sick, well] = await tenants(2, "kms-sick");
    await setFault({ tenantId: sick!.tenantId, mode: "error" });
    try {
      const done = await runJob((await startJob({ kind: "rotate_kek", tenants: [sick!.tenantId, well!.tenantId] })).id);
      const byTenant = new Map(done.tenants.map((t) => [t.tenant_id, t]));
      expect(done.progress).toMatchObject({ done: 1, failed: 1 });
      expect(byTenant.get(sick!.tenantId)).toMatchObject({
        state: "failed",
        attempts: 3,
        error: expect.stringMatching(/^kms_unavailable: /),
      });
      expect(byTenant.get(well!.tenantId)).toMatchObject({ state: "done", attempts: 1 });
      const failures = (await entries(sick!.tenantId)).filter((e) => e.type === "operation.failed");
      expect(failures.map((e) => [e.actor.identity, e.details.operation, e.details.code])).toEqual(
        Array(3).fill(["operator:root", "operator.rotate_kek", "kms_unavailable"]),
      );
      expect(
        (await expectStatus<{ active_version: number }>(await api(sick!.adminToken, "GET", "/v1/admin/kek"), 200))
          .active_version,
      ).toBe(1);
    } finally {
      await setFault({ tenantId: sick!.tenantId, mode: "none" });
    }
    const retried = await runJob((await startJob({ kind: "rotate_kek", tenants: [sick!.tenantId] })).id);
    expect(retried.progress).toMatchObject({ done: 1, failed: 0 });
    expect(
      (await expectStatus<{ active_version: number }>(await api(sick!.adminToken, "GET", "/v1/admin/kek"), 200))
        .active_version,
    ).toBe(2);
  });

  it("jobs land in the operator log with who started them, and the log's chain verifies", async () => {
    const started = await startJob({ kind: "verify_audit", tenants: [fleet[3]!.tenantId] });
    await runJob(started.id);
    const log = await expectStatus<{
      items: { entry: { action: string; operator: string; details: Record<string, unknown> } }[];
      chain: { ok: boolean };
    }>(await op("GET", "/log?limit=500"), 200);
    expect(log.chain.ok).toBe(true);
    const mine = log.items.filter((i) => i.entry.details.job_id === started.id).map((i) => i.entry.action);
    expect(mine).toEqual(["job.started", "job.finished"]);
    expect((await job(started.id)).state).toBe("done");
  });
});
