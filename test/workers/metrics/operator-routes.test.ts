import { env } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { newTenantId } from "../../../worker/core/ids";
import { vaultStub } from "../../../worker/routes/define";
import type { SignalsReport } from "../../../worker/contract/signals";
import { withSql } from "../audit-log/helpers";
import { api, bootstrap, createCredential, expectStatus, tokenWithRole, type ErrorBody } from "../helpers";
import { control } from "../kms/helpers";
import { op, runJob, startJob } from "../operator/helpers";

/**
 * GET /v1/operator/metrics and /v1/operator/signals (issue 13 §4) through the Worker: operator
 * authentication first (a tenant's own admin token gets 401, beside the operator's 200), the
 * Prometheus text, the signals firing from an injected audit write failure for the tenant that
 * has it and not for a clean one, and bad input answered 4xx. Requests name their tenants
 * (`?tenants=`): other test files' tenants share this runtime and may have faults of their own.
 */

const AUDIT_TRIGGER =
  "CREATE TRIGGER fail_audit BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'injected audit failure'); END;";

async function tenantWithLeases(leases: number) {
  const t = await bootstrap("metrics-routes");
  const user = await tokenWithRole(t.adminToken, "user", "agent:routes@test");
  await createCredential(t.adminToken, "db", "routes-secret-value");
  for (let i = 0; i < leases; i++)
    await expectStatus(await api(user, "POST", "/v1/leases", { credential: "db", ttl: "5m" }), 201);
  return { ...t, user };
}

const signals = async (query: string, token?: string | null) =>
  expectStatus<SignalsReport>(await op("GET", `/signals${query}`, undefined, token), 200);

describe("operator metrics and signals", () => {
  it("need an operator token: a tenant's admin token and no token get 401, the operator 200", async () => {
    const { tenantId, adminToken } = await tenantWithLeases(0);
    for (const path of [`/metrics?tenants=${tenantId}`, `/signals?tenants=${tenantId}`]) {
      const asTenant = await expectStatus<ErrorBody>(await op("GET", path, undefined, adminToken), 401);
      expect(JSON.stringify(asTenant)).not.toContain("ghostvault_");
      await expectStatus(await op("GET", path, undefined, null), 401);
      expect((await op("GET", path)).status).toBe(200);
    }
    // Nor does a tenant token reach its own tenant's counters by the tenant API.
    expect((await api(adminToken, "GET", "/v1/metrics")).status).toBe(404);
  });

  it("serve Prometheus text for the named tenants, with the counts each object keeps", async () => {
    const a = await tenantWithLeases(3);
    const b = await tenantWithLeases(1);
    const res = await op("GET", `/metrics?tenants=${a.tenantId},${b.tenantId}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const text = await res.text();
    expect(text).toContain("# TYPE ghostvault_leases_issued_total counter");
    expect(text).toContain(`ghostvault_leases_issued_total{tenant="${a.tenantId}"} 3`);
    expect(text).toContain(`ghostvault_leases_issued_total{tenant="${b.tenantId}"} 1`);
    expect(text).toContain(`ghostvault_request_duration_seconds_count{tenant="${a.tenantId}"} `);
    expect(text).toContain('ghostvault_signal_firing{signal="audit_write_failures",severity="P1"} 0');
    expect(text).toContain('ghostvault_metrics_tenants{state="checked"} 2');
    expect(text).not.toContain("routes-secret-value");
    expect(text).not.toContain(a.adminToken);
  });

  it("fire audit_write_failures and the lease failure rate for the tenant with a failing audit table, not for a clean one", async () => {
    const bad = await tenantWithLeases(0);
    const clean = await tenantWithLeases(2);
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    await withSql(bad.tenantId, (sql) => sql.exec(AUDIT_TRIGGER));
    try {
      expect((await api(bad.user, "POST", "/v1/leases", { credential: "db" })).status).toBe(500);
    } finally {
      await withSql(bad.tenantId, (sql) => sql.exec("DROP TRIGGER fail_audit"));
      errors.mockRestore();
    }
    const both = await signals(`?tenants=${bad.tenantId},${clean.tenantId}`);
    expect(both.firing).toEqual(["lease_issuance_failure_rate", "audit_write_failures"]);
    const audit = both.signals.find((s) => s.name === "audit_write_failures")!;
    expect(audit.tenants.map((t) => t.tenant_id)).toEqual([bad.tenantId]);
    expect(both.signals.find((s) => s.name === "lease_issuance_failure_rate")!.numbers).toMatchObject({
      failed: 1,
      issued: 2,
    });
    // Control: the clean tenant alone fires nothing.
    expect((await signals(`?tenants=${clean.tenantId}`)).firing).toEqual([]);
  });

  it("answer bad input with a 4xx that names it, and an unknown tenant with 404", async () => {
    const { tenantId } = await tenantWithLeases(0);
    for (const [query, status, words] of [
      ["?tenants=not-a-tenant", 400, /tenants.*tenant id/],
      [`?tenants=${tenantId},`, 400, /tenant id/],
      ["?tenants=", 400, /tenant id/],
      [`?tenants=${tenantId}&extra=1`, 400, /extra/],
      [`?tenants=${Array.from({ length: 101 }, () => newTenantId()).join(",")}`, 400, /at most 100/],
      [`?tenants=${newTenantId()}`, 404, /no tenant/],
    ] as const) {
      for (const path of ["/signals", "/metrics"]) {
        const body = await expectStatus<ErrorBody>(await op("GET", `${path}${query}`), status);
        expect(body.error.message, `${path}${query}`).toMatch(words);
      }
    }
    // Control: the same tenant, well formed, is read.
    expect((await signals(`?tenants=${tenantId}`)).tenants_checked).toBe(1);
  });

  it("list a tenant whose object cannot answer as unreachable, and still report the others", async () => {
    const ok = await tenantWithLeases(1);
    const broken = await tenantWithLeases(0);
    // A corrupted counters table: the object's read throws, as a failing object would.
    await withSql(broken.tenantId, (sql) => sql.exec("ALTER TABLE metrics_minutes RENAME TO metrics_minutes_gone"));
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const report = await signals(`?tenants=${ok.tenantId},${broken.tenantId}`);
      expect(report.tenants_checked).toBe(1);
      expect(report.firing).toEqual(["tenants_unreachable"]);
      expect(report.signals.find((s) => s.name === "tenants_unreachable")!.tenants).toEqual([
        { tenant_id: broken.tenantId },
      ]);
    } finally {
      await withSql(broken.tenantId, (sql) => sql.exec("ALTER TABLE metrics_minutes_gone RENAME TO metrics_minutes"));
      warn.mockRestore();
      errors.mockRestore();
    }
    expect(await vaultStub(env, broken.tenantId).metricsSnapshot()).toMatchObject({
      ok: true,
      value: { tenant_id: broken.tenantId },
    });
    expect((await signals(`?tenants=${ok.tenantId},${broken.tenantId}`)).firing).toEqual([]);
  });

  it("count the KMS calls of an operator's fleet action: a P0 KEK rotation meeting a failing KMS fires kms_unavailable", async () => {
    const { tenantId } = await tenantWithLeases(0);
    await control("faults", { method: "POST", body: JSON.stringify({ tenantId, mode: "error" }) });
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    try {
      const job = await runJob((await startJob({ kind: "rotate_kek", tenants: [tenantId] })).id);
      expect(job.tenants.map((t) => t.state)).not.toContain("done");
      const report = await signals(`?tenants=${tenantId}`);
      expect(report.firing).toContain("kms_unavailable");
    } finally {
      await control(`reset?tenantId=${tenantId}`, { method: "POST" });
      warn.mockRestore();
    }
    // Control: with the KMS back, the same rotation succeeds and the signal clears.
    const again = await runJob((await startJob({ kind: "rotate_kek", tenants: [tenantId] })).id);
    expect(again.tenants.map((t) => t.state)).toEqual(["done"]);
    expect((await signals(`?tenants=${tenantId}`)).firing).toEqual([]);
  });
});
