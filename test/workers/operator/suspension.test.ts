import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { vaultStub } from "../../../worker/routes/define";
import { auditRows } from "../audit-log/helpers";
import { api, createCredential, expectStatus } from "../helpers";
import { lease } from "../leases/lease-helpers";
import { op, runJob, startJob, tenants } from "./helpers";

/**
 * Issue 13 §3, tenant suspension (the runbook's P0 "contain"): an operator job suspends named
 * tenants; the tenant's Durable Object then refuses every tenant caller with 403
 * `tenant_suspended` (tokens, sessions and the proxy go through the same gate as the routes
 * below; CI by OIDC or webhook through the CI entry, tried here over RPC), and no lease is renewed.
 * The operator still acts on it (verify), the registry shows it, the chain records it, and
 * reactivation restores everything. Positive controls: the other tenant, and the same calls after.
 */

async function code(res: Response): Promise<{ status: number; code: string }> {
  const body = (await res.json()) as { error?: { code: string } };
  return { status: res.status, code: body.error?.code ?? "ok" };
}

const SUSPENDED = { status: 403, code: "tenant_suspended" };

describe("tenant suspension", () => {
  it("refuses every tenant caller of a suspended tenant, keeps operator actions, and reactivation restores it", async () => {
    const [target, other] = await tenants(2, "suspend");
    for (const t of [target!, other!]) await createCredential(t.adminToken, "db/password", `pw-${t.tenantId}`);
    const held = await lease(target!.adminToken, { credential: "db/password", ttl: "5m" });

    const suspended = await runJob(
      (await startJob({ kind: "suspend", tenants: [target!.tenantId], reason: "incident 42: token leak" })).id,
    );
    expect(suspended.progress).toEqual({ total: 1, pending: 0, done: 1, failed: 0 });
    expect(suspended.tenants[0]!.result).toMatchObject({ status: "suspended", changed: true });

    // Every tenant route of the suspended tenant: 403 tenant_suspended, nothing issued or renewed.
    expect(await code(await api(target!.adminToken, "GET", "/v1/credentials"))).toEqual(SUSPENDED);
    expect(
      await code(await api(target!.adminToken, "POST", "/v1/leases", { credential: "db/password", ttl: "5m" })),
    ).toEqual(SUSPENDED);
    expect(await code(await api(target!.adminToken, "POST", `/v1/leases/${held.lease.id}/renew`, {}))).toEqual(
      SUSPENDED,
    );
    expect(await code(await api(target!.adminToken, "POST", "/v1/tokens", { role: "user", identity: "x" }))).toEqual(
      SUSPENDED,
    );
    // CI entry points (no vault token) are refused the same way.
    const ci = await vaultStub(env, target!.tenantId).oidcLeases("req-suspended-ci", { id_token: "x" });
    expect(ci).toMatchObject({ ok: false, error: { code: "tenant_suspended" } });
    // A bad token is still a 401: the status is told only to callers who prove they belong to the tenant.
    expect((await api(`${target!.adminToken}0`, "GET", "/v1/credentials")).status).toBe(401);

    // Control: the other tenant is untouched.
    expect((await lease(other!.adminToken, { credential: "db/password", ttl: "5m" })).value).toBe(
      `pw-${other!.tenantId}`,
    );
    const otherCi = await vaultStub(env, other!.tenantId).oidcLeases("req-active-ci", { id_token: "x" });
    expect(otherCi).toMatchObject({ ok: false });
    expect(otherCi.ok === false && otherCi.error.code).not.toBe("tenant_suspended");

    // The registry shows it; the operator can still verify its chain, which records the suspension.
    const listed = await expectStatus<{ items: { id: string; status: string }[] }>(
      await op("GET", "/tenants?status=suspended&limit=500"),
      200,
    );
    expect(listed.items.map((t) => t.id)).toContain(target!.tenantId);
    expect(listed.items.map((t) => t.id)).not.toContain(other!.tenantId);
    const verified = await runJob((await startJob({ kind: "verify_audit", tenants: [target!.tenantId] })).id);
    expect(verified.tenants[0]!.result).toMatchObject({ ok: true });
    // Suspending again changes nothing and records nothing more.
    const again = await runJob((await startJob({ kind: "suspend", tenants: [target!.tenantId], reason: "again" })).id);
    expect(again.tenants[0]!.result).toMatchObject({ status: "suspended", changed: false });

    const reactivated = await runJob(
      (await startJob({ kind: "reactivate", tenants: [target!.tenantId], reason: "incident 42 closed" })).id,
    );
    expect(reactivated.tenants[0]!.result).toMatchObject({ status: "active", changed: true });
    expect((await lease(target!.adminToken, { credential: "db/password", ttl: "5m" })).value).toBe(
      `pw-${target!.tenantId}`,
    );
    expect((await api(target!.adminToken, "POST", `/v1/leases/${held.lease.id}/renew`, {})).status).toBe(200);
    const active = await expectStatus<{ items: { id: string }[] }>(
      await op("GET", "/tenants?status=active&limit=500"),
      200,
    );
    expect(active.items.map((t) => t.id)).toContain(target!.tenantId);

    const entries = (await auditRows(target!.tenantId))
      .map((r) => JSON.parse(r.entry) as { type: string; actor: { identity: string }; details: { reason?: string } })
      .filter((e) => e.type === "tenant.suspended" || e.type === "tenant.reactivated");
    expect(entries.map((e) => [e.type, e.actor.identity, e.details.reason])).toEqual([
      ["tenant.suspended", "operator:root", "incident 42: token leak"],
      ["tenant.reactivated", "operator:root", "incident 42 closed"],
    ]);
  });

  it("refuses a suspend job that names no tenant, or no reason, and changes nothing", async () => {
    const [t] = await tenants(1, "suspend-bad");
    expect((await op("POST", "/jobs", { kind: "suspend", tenants: "all", reason: "x" })).status).toBe(400);
    expect((await op("POST", "/jobs", { kind: "suspend", tenants: [t!.tenantId] })).status).toBe(400);
    expect((await op("POST", "/jobs", { kind: "suspend", tenants: [t!.tenantId], reason: "" })).status).toBe(400);
    // Control: the tenant still works.
    expect((await api(t!.adminToken, "GET", "/v1/credentials")).status).toBe(200);
  });

  it("POST /v1/operator/tenants/:id/suspend and /reactivate start one-tenant jobs; bad ids, reasons and unknown tenants are refused", async () => {
    const [t] = await tenants(1, "suspend-route");
    const id = t!.tenantId;
    expect((await op("POST", "/tenants/not-a-tenant/suspend", { reason: "x" })).status).toBe(400);
    expect((await op("POST", `/tenants/${id}/suspend`, {})).status).toBe(400);
    expect((await op("POST", `/tenants/${id}/suspend`, { reason: "x", extra: 1 })).status).toBe(400);
    expect((await op("POST", `/tenants/${"f".repeat(20)}/suspend`, { reason: "x" })).status).toBe(404);
    // Control: nothing above suspended the tenant.
    expect((await api(t!.adminToken, "GET", "/v1/credentials")).status).toBe(200);

    const started = await expectStatus<{ id: string; kind: string }>(
      await op("POST", `/tenants/${id}/suspend`, { reason: "route drill" }),
      202,
    );
    expect(started.kind).toBe("suspend");
    expect((await runJob(started.id)).progress).toMatchObject({ done: 1, failed: 0 });
    expect(await code(await api(t!.adminToken, "GET", "/v1/credentials"))).toEqual(SUSPENDED);
    const back = await expectStatus<{ id: string }>(
      await op("POST", `/tenants/${id}/reactivate`, { reason: "route drill over" }),
      202,
    );
    expect((await runJob(back.id)).tenants[0]!.result).toMatchObject({ status: "active", changed: true });
    expect((await api(t!.adminToken, "GET", "/v1/credentials")).status).toBe(200);
  });
});
