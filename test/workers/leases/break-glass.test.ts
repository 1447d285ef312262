import { describe, expect, it } from "vitest";
import { api, bootstrap, expectStatus, tokenWithRole } from "../helpers";
import {
  auditOfType,
  expiredLeases,
  lease,
  listAll,
  makeCredential,
  SECOND,
  TestClock,
  type ErrorResponse,
} from "./lease-helpers";

const IDENTITIES = [
  "agent:claude-code@alice-laptop",
  "agent:cursor@bob-desktop",
  "ci:github:acme/api@refs/heads/main",
  "ci:github:acme/web@refs/heads/main",
  "ci:github:acme/api@refs/heads/dev",
  "ci:github:other/api@refs/heads/main",
  "user:carol@acme.test",
] as const;

/**
 * A tenant where every identity holds one active lease on each of two credentials, plus one
 * lease per credential already revoked (break glass must neither count nor touch it).
 */
async function fleet() {
  const { adminToken } = await bootstrap();
  const manager = await tokenWithRole(adminToken, "manager", "user:oncall@acme.test");
  const users = Object.fromEntries(
    await Promise.all(IDENTITIES.map(async (id) => [id, await tokenWithRole(adminToken, "user", id)] as const)),
  );
  const creds = {
    db: await makeCredential(adminToken, "prod/db", "db-secret"),
    stripe: await makeCredential(adminToken, "prod/stripe", "stripe-secret"),
  };
  const wanted = IDENTITIES.flatMap((identity) =>
    ["prod/db", "prod/stripe"].map((credential) => ({ identity, credential })),
  );
  const held = await Promise.all(
    wanted.map(async (w) => ({
      ...w,
      id: (await lease(users[w.identity]!, { credential: w.credential, ttl: "1h" })).lease.id,
    })),
  );
  const alreadyRevoked: string[] = [];
  for (const credential of ["prod/db", "prod/stripe"]) {
    const { lease: l } = await lease(users["user:carol@acme.test"]!, { credential, ttl: "1h" });
    await expectStatus(await api(manager, "DELETE", `/v1/leases/${l.id}`), 200);
    alreadyRevoked.push(l.id);
  }
  return { adminToken, manager, users, creds, held, alreadyRevoked };
}

/** Runs a break-glass filter and checks count, states and audit entries against `expected`. */
async function breakGlass(
  filter: Record<string, unknown>,
  matches: (l: { identity: string; credential: string }) => boolean,
) {
  const f = await fleet();
  const expected = f.held
    .filter(matches)
    .map((l) => l.id)
    .sort();
  expect(expected.length).toBeGreaterThan(0);
  expect(expected.length).toBeLessThan(f.held.length + (filter.all ? 1 : 0));

  const res = await expectStatus<{ revoked: number }>(
    await api(f.manager, "POST", "/v1/leases/revoke", { ...filter, reason: "incident 42" }),
    200,
  );
  expect(res).toEqual({ revoked: expected.length });

  const all = await listAll(f.manager);
  const revokedNow = all
    .filter((l) => l.state === "revoked" && !f.alreadyRevoked.includes(l.id))
    .map((l) => l.id)
    .sort();
  expect(revokedNow).toEqual(expected);
  const stillActive = all
    .filter((l) => l.state === "active")
    .map((l) => l.id)
    .sort();
  expect(stillActive).toEqual(
    f.held
      .filter((l) => !matches(l))
      .map((l) => l.id)
      .sort(),
  );

  const entries = (await auditOfType(f.adminToken, "lease.revoked")).filter(
    (e) => e.entry.details.break_glass === true,
  );
  expect(entries.map((e) => e.entry.details.lease_id as string).sort()).toEqual(expected);
  for (const e of entries) expect(e.entry.actor.identity).toBe("user:oncall@acme.test");
  const summary = await auditOfType(f.adminToken, "lease.revoked_matching");
  expect(summary).toHaveLength(1);
  expect(summary[0]!.entry.details).toMatchObject({ revoked: expected.length, reason: "incident 42" });
  return f;
}

describe("break glass: POST /v1/leases/revoke", { timeout: 30_000 }, () => {
  it("revokes every active lease of one credential", async () => {
    const f = await breakGlass({ credential: "prod/db" }, (l) => l.credential === "prod/db");
    const [summary] = await auditOfType(f.adminToken, "lease.revoked_matching");
    expect(summary!.entry.target).toEqual({ kind: "credential", id: f.creds.db.id });
  });

  it("revokes by identity glob agent:*", async () => {
    await breakGlass({ identity: "agent:*" }, (l) => l.identity.startsWith("agent:"));
  });

  it("revokes by identity glob ci:github:acme/*@refs/heads/main", async () => {
    const f = await breakGlass({ identity: "ci:github:acme/*@refs/heads/main" }, (l) =>
      ["ci:github:acme/api@refs/heads/main", "ci:github:acme/web@refs/heads/main"].includes(l.identity),
    );
    expect(
      (await listAll(f.manager, `identity=${encodeURIComponent("ci:github:other/api@refs/heads/main")}`)).every(
        (l) => l.state === "active",
      ),
    ).toBe(true);
  });

  it("combines a credential and an identity glob", async () => {
    await breakGlass(
      { credential: "prod/stripe", identity: "ci:*" },
      (l) => l.credential === "prod/stripe" && l.identity.startsWith("ci:"),
    );
  });

  it("revokes everything with all: true", async () => {
    await breakGlass({ all: true }, () => true);
  });

  it("answers 0 and revokes nothing when nothing matches", async () => {
    const f = await fleet();
    expect(
      await expectStatus(await api(f.manager, "POST", "/v1/leases/revoke", { identity: "service:*" }), 200),
    ).toEqual({ revoked: 0 });
    expect((await listAll(f.manager)).filter((l) => l.state === "active")).toHaveLength(f.held.length);
    expect(
      (await auditOfType(f.adminToken, "lease.revoked")).filter((e) => e.entry.details.break_glass === true),
    ).toHaveLength(0);
  });

  it("refuses a user (403, nothing revoked) and grants a manager", async () => {
    const f = await fleet();
    const user = f.users["agent:claude-code@alice-laptop"]!;
    const refused = await expectStatus<ErrorResponse>(await api(user, "POST", "/v1/leases/revoke", { all: true }), 403);
    expect(refused.error.code).toBe("forbidden");
    expect((await listAll(f.manager)).filter((l) => l.state === "active")).toHaveLength(f.held.length);
    expect(await auditOfType(f.adminToken, "lease.revoked_matching")).toHaveLength(0);
    expect(await expectStatus(await api(f.manager, "POST", "/v1/leases/revoke", { all: true }), 200)).toEqual({
      revoked: f.held.length,
    });
  });

  it("refuses an empty or contradictory filter (400) and accepts a proper one", async () => {
    const f = await fleet();
    for (const body of [{}, { reason: "no filter" }, { all: false }, { all: true, credential: "prod/db" }]) {
      const res = await expectStatus<ErrorResponse>(await api(f.manager, "POST", "/v1/leases/revoke", body), 400);
      expect(res.error.code).toBe("validation_failed");
    }
    expect((await listAll(f.manager)).filter((l) => l.state === "active")).toHaveLength(f.held.length);
    await expectStatus(await api(f.manager, "POST", "/v1/leases/revoke", { credential: "prod/db" }), 200);
  });

  it("answers 404 for an unknown credential and does not fall back to revoking everything", async () => {
    const f = await fleet();
    await expectStatus(await api(f.manager, "POST", "/v1/leases/revoke", { credential: "prod/nope" }), 404);
    expect((await listAll(f.manager)).filter((l) => l.state === "active")).toHaveLength(f.held.length);
    expect(
      await expectStatus(await api(f.manager, "POST", "/v1/leases/revoke", { credential: f.creds.stripe.id }), 200),
    ).toEqual({ revoked: IDENTITIES.length });
  });

  it("does not count or re-end a lease that already lapsed: it stays expired at its deadline", async () => {
    const { tenantId, adminToken } = await bootstrap();
    const manager = await tokenWithRole(adminToken, "manager", "user:oncall@acme.test");
    const user = await tokenWithRole(adminToken, "user", "agent:holder@host");
    await makeCredential(adminToken, "prod/lapse", "v");
    const clock = await TestClock.freeze(tenantId);
    const { lease: lapsed } = await lease(user, { credential: "prod/lapse", ttl: "60s" });
    const { lease: live } = await lease(user, { credential: "prod/lapse", ttl: "1h" });
    await clock.at(61 * SECOND);
    // The alarm has not swept the lapsed lease yet; break glass must not claim it.
    expect(await expectStatus(await api(manager, "POST", "/v1/leases/revoke", { all: true }), 200)).toEqual({
      revoked: 1,
    });
    const states = Object.fromEntries((await listAll(manager)).map((l) => [l.id, l]));
    expect(states[live.id]).toMatchObject({ state: "revoked" });
    expect(states[lapsed.id]).toMatchObject({ state: "expired", ended_at: clock.iso(60 * SECOND) });
    await clock.runAlarm();
    const expired = await expiredLeases(adminToken);
    expect(expired.map((e) => e.lease_id)).toEqual([lapsed.id]);
  });
});
