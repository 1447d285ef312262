import { env } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { COUNTER_NAMES, TenantMetricsSchema, type TenantMetrics } from "../../../worker/contract/metrics";
import { unwrapOutcome } from "../../../worker/contract/rpc";
import { evaluateSignals } from "../../../worker/contract/signals";
import { newTenantId } from "../../../worker/core/ids";
import { vaultStub } from "../../../worker/routes/define";
import { RETENTION_MINUTES } from "../../../durable-objects/metrics/store";
import { auditRows, verify, withSql } from "../audit-log/helpers";
import { api, bootstrap, createCredential, expectStatus, tokenWithRole } from "../helpers";
import { control } from "../kms/helpers";

/**
 * The TenantVault's counters (issue 13 §4) and the P0/P1 signals computed from them, driven by
 * real faults: the audit table's SQLite trigger (as audit-log/fail-closed.test.ts), the KMS
 * emulator's fault injection (as kek/kms-failures.test.ts), and integrity violations written
 * behind the object's back into D1. Every firing case has a control beside it that does not fire.
 */

const AUDIT_TRIGGER =
  "CREATE TRIGGER fail_audit BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'injected audit failure'); END;";

async function snapshot(tenantId: string): Promise<TenantMetrics> {
  return TenantMetricsSchema.parse(unwrapOutcome(await vaultStub(env, tenantId).metricsSnapshot()));
}

/** The signals of one tenant at its own clock: other files' tenants share this runtime. */
async function signalsOf(tenantId: string) {
  const m = await snapshot(tenantId);
  const report = evaluateSignals([m], m.at);
  return { m, report, fires: (name: string) => report.signals.find((s) => s.name === name)!.firing };
}

/** A tenant with a credential "db" and a user allowed to lease it. */
async function world() {
  const { tenantId, adminToken } = await bootstrap("metrics");
  const user = await tokenWithRole(adminToken, "user", "agent:metrics@test");
  await createCredential(adminToken, "db", "metrics-secret-value");
  return { tenantId, adminToken, user };
}

/** Runs `fn` while the tenant's audit table refuses every insert (console.error quiet meanwhile). */
async function withAuditFailing<T>(tenantId: string, fn: () => Promise<T>): Promise<T> {
  const errors = vi.spyOn(console, "error").mockImplementation(() => {});
  await withSql(tenantId, (sql) => sql.exec(AUDIT_TRIGGER));
  try {
    return await fn();
  } finally {
    await withSql(tenantId, (sql) => sql.exec("DROP TRIGGER fail_audit"));
    errors.mockRestore();
  }
}

/**
 * The stand-in's points for the tenant once `ready` holds (or after ~1 s): the object calls it
 * without waiting, as it calls Analytics Engine, so a point may land just after the response.
 */
async function pointsUntil(
  tenantId: string,
  ready: (points: AnalyticsEngineDataPoint[]) => boolean,
): Promise<AnalyticsEngineDataPoint[]> {
  let points = await env.METRICS_TEST_SINK.pointsFor(tenantId);
  for (let i = 0; i < 50 && !ready(points); i++) {
    await new Promise((r) => setTimeout(r, 20));
    points = await env.METRICS_TEST_SINK.pointsFor(tenantId);
  }
  return points;
}

async function leases(token: string, n: number, credential = "db"): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) statuses.push((await api(token, "POST", "/v1/leases", { credential, ttl: "5m" })).status);
  return statuses;
}

describe("per-tenant counters", () => {
  it("count leases issued, denied and failed, requests and latency, and nothing of a value", async () => {
    const { tenantId, adminToken, user } = await world();
    const before = await snapshot(tenantId);
    expect(await leases(user, 3)).toEqual([201, 201, 201]);
    expect(await leases(user, 1, "no-such-credential")).toEqual([404]);
    // Bad input: validated in the object after authorisation, a 400; a lease refused, never one issued.
    expect((await api(user, "POST", "/v1/leases", { credential: "db", ttl: "forever" })).status).toBe(400);
    // A well-formed token of this tenant that is not one of its tokens reaches the object, and is denied there.
    const forged = user.slice(0, -1) + (user.endsWith("0") ? "1" : "0");
    expect((await api(forged, "POST", "/v1/leases", { credential: "db" })).status).toBe(401);
    await expectStatus(await api(adminToken, "GET", "/v1/credentials"), 200);
    const after = await snapshot(tenantId);
    const delta = Object.fromEntries(COUNTER_NAMES.map((n) => [n, after.totals[n] - before.totals[n]]));
    expect(delta).toEqual({
      requests: 7,
      errors: 0,
      leases_issued: 3,
      leases_denied: 3,
      leases_failed: 0,
      audit_append_failures: 0,
      kms_calls: 0,
      kms_failures: 0,
      integrity_violations: 0,
    });
    expect(after.window.counts.leases_issued).toBeGreaterThanOrEqual(3);
    expect(after.latency.count - before.latency.count).toBe(7);
    expect(JSON.stringify(after)).not.toContain("metrics-secret-value");
    // Positive control of the signals: healthy traffic fires nothing.
    expect(evaluateSignals([after], after.at).firing).toEqual([]);
  });

  it("write one Analytics Engine data point per request, indexed by tenant", async () => {
    const { tenantId, user } = await world();
    expect(await leases(user, 2)).toEqual([201, 201]);
    let points = await pointsUntil(tenantId, (all) => all.filter((p) => p.blobs?.[0] === "leases.create").length >= 2);
    const leasePoints = points.filter((p) => p.blobs?.[0] === "leases.create");
    expect(leasePoints).toHaveLength(2);
    const issued = 1 + COUNTER_NAMES.indexOf("leases_issued");
    expect(leasePoints.map((p) => [p.indexes, p.blobs, p.doubles?.[issued]])).toEqual([
      [[tenantId], ["leases.create", "ok"], 1],
      [[tenantId], ["leases.create", "ok"], 1],
    ]);
    // A refusal is labelled with its code and counted as a denial in its own point.
    expect(await leases(user, 1, "no-such-credential")).toEqual([404]);
    const denied = 1 + COUNTER_NAMES.indexOf("leases_denied");
    points = await pointsUntil(tenantId, (all) => all.some((p) => p.blobs?.[1] === "not_found"));
    expect(points.filter((p) => p.blobs?.[1] === "not_found").map((p) => [p.blobs, p.doubles?.[denied]])).toEqual([
      [["leases.create", "not_found"], 1],
    ]);
    expect(JSON.stringify(points)).not.toContain("metrics-secret-value");
  });

  it("store nothing for a tenant never bootstrapped", async () => {
    const tenantId = newTenantId();
    const { adminToken } = await bootstrap("metrics");
    // The same shape of token, naming a tenant that does not exist: its object answers 401.
    const stray = adminToken.replace(/^(gv_[a-z]+_)[^_]+_/, `$1${tenantId}_`);
    expect(stray).toContain(tenantId);
    expect((await api(stray, "GET", "/v1/whoami")).status).toBe(401);
    expect(await vaultStub(env, tenantId).metricsSnapshot()).toEqual({ ok: true, value: null });
    expect(await withSql(tenantId, (sql) => sql.exec("SELECT count(*) AS n FROM metrics_minutes").one().n)).toBe(0);
  });

  it("keep totals when minutes past the retention are folded, and leave them out of the window", async () => {
    const { tenantId, user } = await world();
    const stub = vaultStub(env, tenantId);
    const t0 = Date.now();
    await stub.setClockForTest(t0);
    expect(await leases(user, 2)).toEqual([201, 201]);
    const early = await snapshot(tenantId);
    await stub.setClockForTest(t0 + (RETENTION_MINUTES + 5) * 60_000);
    expect(await leases(user, 1)).toEqual([201]);
    const late = await snapshot(tenantId);
    await stub.setClockForTest(null);
    expect(late.totals.leases_issued).toBe(early.totals.leases_issued + 1);
    expect(late.window.counts.leases_issued).toBe(1);
    const minutes = await withSql(tenantId, (sql) =>
      sql
        .exec<{ minute: number }>("SELECT minute FROM metrics_minutes ORDER BY minute")
        .toArray()
        .map((r) => r.minute),
    );
    expect(minutes[0]).toBe(0); // the fold row
    expect(minutes.length).toBeLessThanOrEqual(RETENTION_MINUTES + 2);
  });
});

describe("signals from injected faults", () => {
  it("audit write failure: fires audit_write_failures and the lease failure rate; a clean tenant does not", async () => {
    const { tenantId, user } = await world();
    const clean = await world();
    expect(await leases(clean.user, 2)).toEqual([201, 201]);
    expect(await withAuditFailing(tenantId, () => leases(user, 1))).toEqual([500]);
    const { m, report, fires } = await signalsOf(tenantId);
    expect(m.window.counts.audit_append_failures).toBeGreaterThanOrEqual(1);
    expect(m.window.counts.leases_failed).toBe(1);
    expect(fires("audit_write_failures")).toBe(true);
    expect(fires("lease_issuance_failure_rate")).toBe(true);
    expect(report.signals.find((s) => s.name === "audit_write_failures")!.tenants.map((t) => t.tenant_id)).toEqual([
      tenantId,
    ]);
    const control = await signalsOf(clean.tenantId);
    expect(control.report.firing).toEqual([]);
  });

  it("lease issuance failure rate: 1 failure in 20 (5%) does not fire, 2 in 21 does", async () => {
    const { tenantId, user } = await world();
    expect(await leases(user, 19)).toEqual(Array(19).fill(201));
    expect(await withAuditFailing(tenantId, () => leases(user, 1))).toEqual([500]);
    const atFive = await signalsOf(tenantId);
    expect(atFive.report.signals.find((s) => s.name === "lease_issuance_failure_rate")!.numbers).toMatchObject({
      failed: 1,
      issued: 19,
      rate: 0.05,
    });
    expect(atFive.fires("lease_issuance_failure_rate")).toBe(false);
    expect(await withAuditFailing(tenantId, () => leases(user, 1))).toEqual([500]);
    const above = await signalsOf(tenantId);
    expect(above.report.signals.find((s) => s.name === "lease_issuance_failure_rate")!.numbers).toMatchObject({
      failed: 2,
      issued: 19,
    });
    expect(above.fires("lease_issuance_failure_rate")).toBe(true);
  });

  it("failures older than the window no longer fire", async () => {
    const { tenantId, user } = await world();
    const stub = vaultStub(env, tenantId);
    const t0 = Date.now();
    await stub.setClockForTest(t0);
    expect(await withAuditFailing(tenantId, () => leases(user, 1))).toEqual([500]);
    expect((await signalsOf(tenantId)).fires("audit_write_failures")).toBe(true);
    await stub.setClockForTest(t0 + 6 * 60_000);
    const later = await signalsOf(tenantId);
    await stub.setClockForTest(null);
    expect(later.m.totals.audit_append_failures).toBeGreaterThanOrEqual(1);
    expect(later.report.firing).toEqual([]);
  });

  it("KMS unavailable: fires while the KMS's last answer is a failure, stops once it answers again", async () => {
    const { tenantId, adminToken } = await world();
    const clear = () => control(`reset?tenantId=${tenantId}`, { method: "POST" });
    await control("faults", { method: "POST", body: JSON.stringify({ tenantId, mode: "error" }) });
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    try {
      await expectStatus(await api(adminToken, "POST", "/v1/admin/kek/rotate"), 503);
    } finally {
      await clear();
      warn.mockRestore();
    }
    const failing = await signalsOf(tenantId);
    expect(failing.m.window.counts).toMatchObject({ kms_failures: 1, errors: 1 });
    expect(failing.fires("kms_unavailable")).toBe(true);
    // The KMS is back: the next call succeeds, and the signal stops though the failure is in the window.
    await expectStatus(await api(adminToken, "POST", "/v1/admin/kek/rotate"), 202);
    const recovered = await signalsOf(tenantId);
    expect(recovered.m.window.counts.kms_failures).toBe(1);
    expect(recovered.m.kms_last_success_at).toBeGreaterThanOrEqual(recovered.m.kms_last_failure_at!);
    expect(recovered.fires("kms_unavailable")).toBe(false);
  });

  it("integrity violation: an audit verification that finds a broken chain fires integrity_violations (P0)", async () => {
    const { tenantId, adminToken } = await world();
    // Control: a verification of the intact chain (entries not yet signed included) counts nothing.
    expect(await verify(adminToken)).toMatchObject({ ok: true });
    expect((await signalsOf(tenantId)).m.window.counts.integrity_violations).toBe(0);
    const row = (await auditRows(tenantId))[1]!;
    await withSql(tenantId, (sql) =>
      sql.exec(
        "UPDATE audit SET entry = ? WHERE seq = ?",
        row.entry.replace(/"type":"[^"]+"/, '"type":"forged.entry"'),
        row.seq,
      ),
    );
    expect(await verify(adminToken)).toMatchObject({ ok: false, seq: row.seq });
    const { m, fires } = await signalsOf(tenantId);
    expect(m.window.counts.integrity_violations).toBe(1);
    expect(fires("integrity_violations")).toBe(true);
  });

  it("integrity violation: D1 rolled back behind the object fires integrity_violations (P0)", async () => {
    const { tenantId, adminToken, user } = await world();
    await expectStatus(await api(adminToken, "POST", "/v1/credentials/db/rotate", { value: "second-value" }), 200);
    expect((await signalsOf(tenantId)).fires("integrity_violations")).toBe(false);
    await env.DB.prepare("UPDATE credentials SET current_version = 1 WHERE tenant_id = ? AND name = 'db'")
      .bind(tenantId)
      .run();
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      expect(await leases(user, 1)).toEqual([500]);
    } finally {
      errors.mockRestore();
    }
    const { m, report } = await signalsOf(tenantId);
    expect(m.window.counts.integrity_violations).toBe(1);
    expect(report.signals.find((s) => s.name === "integrity_violations")).toMatchObject({
      firing: true,
      severity: "P0",
      numbers: { violations: 1 },
    });
  });
});
