import { describe, expect, it } from "vitest";
import { api, bootstrap, expectStatus, tokenWithRole } from "../helpers";
import { auditOfType, HOUR, lease, makeCredential, MINUTE, TestClock, type ErrorResponse } from "./lease-helpers";

interface ImpactLease {
  lease_id: string;
  version: number;
  identity: string;
  agent: Record<string, string> | null;
  issued_at: string;
  end: "expired" | "revoked" | "active";
  ended_at: string | null;
  expires_at: string;
}
interface ImpactReport {
  from: string;
  to: string;
  truncated: boolean;
  credentials: { credential_id: string; credential_name: string; identities: string[]; leases: ImpactLease[] }[];
}

const USER = "user:dev@acme.test";
const AGENT = "agent:claude-code@alice-laptop";

/**
 * A timeline on the tenant's clock (T = clock start); the report window is [T+5m, T+2h]:
 * - before: prod/db by USER at T, 60 s, expired at T+1m (ended before the window: absent)
 * - a: prod/db by USER at T+10m, 60 s, expires at T+11m (in the window, expired)
 * - b: prod/stripe by AGENT at T+20m, revoked at T+25m (in the window, revoked)
 * - c: prod/db by AGENT at T+30m, 10 h (in the window, still active)
 * - after: prod/later by USER at T+3h (issued after the window: absent)
 */
async function timeline() {
  const { tenantId, adminToken } = await bootstrap();
  const manager = await tokenWithRole(adminToken, "manager", "user:oncall@acme.test");
  const user = await tokenWithRole(adminToken, "user", USER);
  const agent = await tokenWithRole(adminToken, "user", AGENT);
  const db = await makeCredential(adminToken, "prod/db", "db-secret");
  const stripe = await makeCredential(adminToken, "prod/stripe", "stripe-secret");
  const later = await makeCredential(adminToken, "prod/later", "later-secret");
  const clock = await TestClock.freeze(tenantId);
  const agentInfo = { name: "claude-code", model: "claude-opus-4", session: "s-1" };

  const { lease: before } = await lease(user, { credential: "prod/db", ttl: "60s" });
  await clock.at(2 * MINUTE);
  await clock.runAlarm();
  await clock.at(10 * MINUTE);
  const { lease: a } = await lease(user, { credential: "prod/db", ttl: "60s" });
  await clock.at(20 * MINUTE);
  const { lease: b } = await lease(agent, { credential: "prod/stripe", ttl: "1h", agent: agentInfo });
  await clock.at(25 * MINUTE);
  await expectStatus(await api(manager, "DELETE", `/v1/leases/${b.id}`), 200);
  await clock.at(30 * MINUTE);
  const { lease: c } = await lease(agent, { credential: "prod/db", ttl: "10h", agent: agentInfo });
  await clock.at(40 * MINUTE);
  await clock.runAlarm();
  await clock.at(3 * HOUR);
  const { lease: after } = await lease(user, { credential: "prod/later", ttl: "10m" });
  const query = `/v1/incident/impact?from=${encodeURIComponent(clock.iso(5 * MINUTE))}&to=${encodeURIComponent(clock.iso(2 * HOUR))}`;
  return {
    adminToken,
    manager,
    clock,
    query,
    agentInfo,
    creds: { db, stripe, later },
    leases: { before, a, b, c, after },
  };
}

describe("incident impact report", { timeout: 30_000 }, () => {
  it("groups the window's leases by credential with identities, agents and how each ended", async () => {
    const t = await timeline();
    const report = await expectStatus<ImpactReport>(await api(t.adminToken, "GET", t.query), 200);
    expect(report).toMatchObject({ from: t.clock.iso(5 * MINUTE), to: t.clock.iso(2 * HOUR), truncated: false });

    const byName = Object.fromEntries(report.credentials.map((c) => [c.credential_name, c]));
    expect(Object.keys(byName).sort()).toEqual(["prod/db", "prod/stripe"]);

    const db = byName["prod/db"]!;
    expect(db.credential_id).toBe(t.creds.db.id);
    expect(db.identities).toEqual([AGENT, USER]);
    const dbLeases = Object.fromEntries(db.leases.map((l) => [l.lease_id, l]));
    expect(Object.keys(dbLeases).sort()).toEqual([t.leases.a.id, t.leases.c.id].sort());
    expect(dbLeases[t.leases.a.id]).toMatchObject({
      identity: USER,
      end: "expired",
      ended_at: t.clock.iso(11 * MINUTE),
      issued_at: t.clock.iso(10 * MINUTE),
      agent: null,
    });
    expect(dbLeases[t.leases.c.id]).toMatchObject({
      identity: AGENT,
      end: "active",
      ended_at: null,
      agent: t.agentInfo,
      version: 1,
    });

    const stripe = byName["prod/stripe"]!;
    expect(stripe.identities).toEqual([AGENT]);
    expect(stripe.leases).toHaveLength(1);
    expect(stripe.leases[0]).toMatchObject({
      lease_id: t.leases.b.id,
      end: "revoked",
      ended_at: t.clock.iso(25 * MINUTE),
      agent: t.agentInfo,
    });

    const ids = JSON.stringify(report);
    expect(ids).not.toContain(t.leases.before.id);
    expect(ids).not.toContain(t.leases.after.id);
    expect(ids).not.toContain(t.creds.later.id);
    for (const secret of ["db-secret", "stripe-secret", "later-secret"]) expect(ids).not.toContain(secret);

    const recorded = await auditOfType(t.adminToken, "incident.report");
    expect(recorded.map((e) => e.entry.details)).toEqual([
      { from: t.clock.iso(5 * MINUTE), to: t.clock.iso(2 * HOUR), leases: 3 },
    ]);
  });

  it("includes leases that straddle a window edge and excludes those entirely outside", async () => {
    const t = await timeline();
    // [T+11m, T+11m]: a ends exactly then; b and c are not yet issued.
    const edge = `/v1/incident/impact?from=${encodeURIComponent(t.clock.iso(11 * MINUTE))}&to=${encodeURIComponent(t.clock.iso(11 * MINUTE))}`;
    const report = await expectStatus<ImpactReport>(await api(t.adminToken, "GET", edge), 200);
    const ids = report.credentials.flatMap((c) => c.leases.map((l) => l.lease_id));
    expect(ids).toEqual([t.leases.a.id]);
    // [T+1h, T+2h]: only c is still held.
    const late = `/v1/incident/impact?from=${encodeURIComponent(t.clock.iso(HOUR))}&to=${encodeURIComponent(t.clock.iso(2 * HOUR))}`;
    const lateReport = await expectStatus<ImpactReport>(await api(t.adminToken, "GET", late), 200);
    expect(lateReport.credentials.flatMap((c) => c.leases.map((l) => l.lease_id))).toEqual([t.leases.c.id]);
  });

  it("refuses a manager (403) and grants an admin", async () => {
    const t = await timeline();
    const refused = await expectStatus<ErrorResponse & { credentials?: unknown }>(
      await api(t.manager, "GET", t.query),
      403,
    );
    expect(refused.error.code).toBe("forbidden");
    expect(refused.credentials).toBeUndefined();
    expect(await auditOfType(t.adminToken, "incident.report")).toHaveLength(0);
    const report = await expectStatus<ImpactReport>(await api(t.adminToken, "GET", t.query), 200);
    expect(report.credentials).toHaveLength(2);
  });

  it("refuses a window that ends before it starts, or lacks an end (400)", async () => {
    const { adminToken } = await bootstrap();
    const from = "2030-01-02T00:00:00.000Z";
    await expectStatus(
      await api(adminToken, "GET", `/v1/incident/impact?from=${from}&to=2030-01-01T00:00:00.000Z`),
      400,
    );
    await expectStatus(await api(adminToken, "GET", `/v1/incident/impact?from=${from}`), 400);
    await expectStatus(
      await api(adminToken, "GET", `/v1/incident/impact?from=${from}&to=2030-01-03T00:00:00.000Z`),
      200,
    );
  });
});
