import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { evaluateAcl } from "../../../durable-objects/access/acl";
import { roleAtLeast, ROLES } from "../../../worker/contract/roles";
import type { Acl } from "../../../worker/contract/schemas/acl";
import { api, expectStatus, tokenWithRole } from "../helpers";
import { auditOfType } from "../leases/lease-helpers";
import { encodingsOf } from "../support/use-upstream";
import { bodyText, useCall, useWorld, VALUE, type UseAnswer } from "./use-helpers";

type World = Awaited<ReturnType<typeof useWorld>>;
let w: World;
beforeAll(async () => {
  w = await useWorld();
});

const echo = { method: "GET", url: "https://api.example.com/v1/echo" };
const setAcl = async (rules: object[]) =>
  expectStatus(await api(w.adminToken, "PUT", "/v1/credentials/openai/acl", { rules }), 200);
const setTeam = async (name: string, members: string[]) =>
  expectStatus(await api(w.adminToken, "PUT", `/v1/teams/${name}`, { members }), 200);
const leaseStatus = async (token: string) => (await api(token, "POST", "/v1/leases", { credential: "openai" })).status;
const check = async (identity: string, permission: string) =>
  expectStatus<{ allowed: boolean; rule: number | null; team: string | null }>(
    await api(
      w.adminToken,
      "GET",
      `/v1/credentials/openai/acl/check?identity=${encodeURIComponent(identity)}&permission=${permission}`,
    ),
    200,
  );

describe("lease and use are separate ACL permissions", () => {
  it("lets a use-only identity call through the proxy but not lease, while a lease rule still leases", async () => {
    const leaser = await tokenWithRole(w.adminToken, "user", "user:dev@acme.test");
    await setAcl([
      { effect: "allow", identity: "agent:bot", permissions: ["use"] },
      { effect: "allow", identity: "user:*@acme.test", permissions: ["lease"] },
    ]);
    expect(await leaseStatus(w.user)).toBe(403);
    await expectStatus(await useCall(w.user, "openai", echo), 200);
    // Positive control: the lease rule leases; and it does not grant use.
    expect(await leaseStatus(leaser)).toBe(201);
    expect((await useCall(leaser, "openai", echo)).status).toBe(403);
  });

  it("closes leases to everyone once a use-only allow rule exists (control: no rules leave both open)", async () => {
    await setAcl([]);
    expect(await leaseStatus(w.user)).toBe(201);
    await setAcl([{ effect: "allow", identity: "user:nobody@acme.test", permissions: ["use"] }]);
    expect(await leaseStatus(w.user)).toBe(403);
    expect((await useCall(w.user, "openai", echo)).status).toBe(403);
  });

  it("keeps the meaning of rules without permissions (both), and deny wins per permission only", async () => {
    await setAcl([{ effect: "allow", identity: "agent:bot" }]);
    expect(await leaseStatus(w.user)).toBe(201);
    await expectStatus(await useCall(w.user, "openai", echo), 200);
    await setAcl([
      { effect: "allow", identity: "agent:bot" },
      { effect: "deny", identity: "agent:*", permissions: ["lease"] },
    ]);
    expect(await leaseStatus(w.user)).toBe(403);
    await expectStatus(await useCall(w.user, "openai", echo), 200);
  });

  it("answers acl/check with the deciding rule and team, for managers only", async () => {
    await setTeam("bots", ["agent:*"]);
    await setAcl([
      { effect: "deny", identity: "agent:evil" },
      { effect: "allow", identity: "team:bots", permissions: ["use"] },
    ]);
    expect(await check("agent:bot", "use")).toEqual({ allowed: true, rule: 1, team: "bots" });
    // An allow rule for use only closes leases to everyone it does not name for them.
    expect(await check("agent:bot", "lease")).toEqual({ allowed: false, rule: null, team: null });
    expect(await check("agent:evil", "use")).toEqual({ allowed: false, rule: 0, team: null });
    expect(await check("user:x@acme.test", "use")).toEqual({ allowed: false, rule: null, team: null });
    expect((await api(w.user, "GET", "/v1/credentials/openai/acl/check?identity=agent:bot")).status).toBe(403);
    expect((await api(w.adminToken, "GET", "/v1/credentials/openai/acl/check?identity=not-an-identity")).status).toBe(
      400,
    );
  });

  it("records the matching rule and team on credential.used and lease.created", async () => {
    await setTeam("bots", ["agent:*"]);
    await setAcl([{ effect: "allow", identity: "team:bots" }]);
    await expectStatus(await useCall(w.user, "openai", { ...echo, purpose: "rule-team-check" }), 200);
    const used = (await auditOfType(w.adminToken, "credential.used")).find(
      (e) => e.entry.details.purpose === "rule-team-check",
    );
    expect(used?.entry.details).toMatchObject({ rule: 0, team: "bots" });
    await expectStatus(
      await api(w.user, "POST", "/v1/leases", { credential: "openai", purpose: "lease-team-check" }),
      201,
    );
    const leased = (await auditOfType(w.adminToken, "lease.created")).find(
      (e) => e.entry.details.purpose === "lease-team-check",
    );
    expect(leased?.entry.details).toMatchObject({ rule: 0, team: "bots" });
  });
});

describe("teams", () => {
  it("are admin-managed, audited, and a deleted team's rules match nobody", async () => {
    const manager = await tokenWithRole(w.adminToken, "manager", "user:mgr@acme.test");
    expect((await api(manager, "PUT", "/v1/teams/ops", { members: ["agent:*"] })).status).toBe(403);
    await setTeam("ops", ["agent:bot"]);
    await setTeam("ops", ["agent:*"]);
    const listed = await expectStatus<{ items: { name: string; members: string[] }[] }>(
      await api(manager, "GET", "/v1/teams"),
      200,
    );
    expect(listed.items.find((t) => t.name === "ops")?.members).toEqual(["agent:*"]);
    const updates = (await auditOfType(w.adminToken, "team.updated")).filter((e) => e.entry.details.team === "ops");
    expect(updates.at(-1)?.entry.details).toMatchObject({ before: ["agent:bot"], after: ["agent:*"] });

    await setAcl([{ effect: "allow", identity: "team:ops" }]);
    await expectStatus(await useCall(w.user, "openai", echo), 200);
    await expectStatus(await api(w.adminToken, "DELETE", "/v1/teams/ops"), 204);
    expect((await auditOfType(w.adminToken, "team.deleted")).some((e) => e.entry.details.team === "ops")).toBe(true);
    expect((await useCall(w.user, "openai", echo)).status).toBe(403);
    expect((await api(w.adminToken, "DELETE", "/v1/teams/ops")).status).toBe(404);
  });

  it("refuses bad names, members and team principals with 400", async () => {
    expect((await api(w.adminToken, "PUT", "/v1/teams/Bad Name", { members: [] })).status).toBe(400);
    expect((await api(w.adminToken, "PUT", "/v1/teams/ok", { members: ["has space"] })).status).toBe(400);
    expect(
      (
        await api(w.adminToken, "PUT", "/v1/credentials/openai/acl", {
          rules: [{ effect: "allow", identity: "team:*" }],
        })
      ).status,
    ).toBe(400);
    expect(
      (
        await api(w.adminToken, "PUT", "/v1/credentials/openai/acl", {
          rules: [{ effect: "allow", identity: "agent:bot", permissions: ["read"] }],
        })
      ).status,
    ).toBe(400);
    // Positive control.
    await setTeam("ok", ["agent:bot"]);
  });
});

describe("use policies", () => {
  const base = {
    origins: ["https://api.example.com"],
    inject: { type: "header", name: "Authorization", template: "Bearer {value}" },
  };
  it.each([
    ["an http origin", { ...base, origins: ["http://api.example.com"] }],
    ["an IP literal origin", { ...base, origins: ["https://10.0.0.1"] }],
    ["a local name", { ...base, origins: ["https://vault.internal"] }],
    ["an origin with a path", { ...base, origins: ["https://api.example.com/v1"] }],
    ["a template without {value}", { ...base, inject: { type: "header", name: "Authorization", template: "Bearer" } }],
    ["no injection", { origins: base.origins }],
    ["an unknown method", { ...base, methods: ["CONNECT"] }],
  ])("refuses %s with 400 and keeps the policy", async (_name, policy) => {
    const before = await expectStatus(await api(w.adminToken, "GET", "/v1/credentials/openai/use"), 200);
    expect((await api(w.adminToken, "PUT", "/v1/credentials/openai/use", policy)).status).toBe(400);
    expect(await expectStatus(await api(w.adminToken, "GET", "/v1/credentials/openai/use"), 200)).toEqual(before);
  });

  it("are set by managers, read by viewers, and audited with before and after", async () => {
    const viewer = await tokenWithRole(w.adminToken, "viewer", "user:v@acme.test");
    expect((await api(w.user, "PUT", "/v1/credentials/openai/use", base)).status).toBe(403);
    const policy = { ...base, origins: ["https://api.example.com", "https://*.example.org:8443"] };
    await expectStatus(await api(w.adminToken, "PUT", "/v1/credentials/openai/use", policy), 200);
    expect(await expectStatus(await api(viewer, "GET", "/v1/credentials/openai/use"), 200)).toMatchObject({
      origins: policy.origins,
      methods: ["GET", "POST"],
      path_prefixes: ["/"],
    });
    const last = (await auditOfType(w.adminToken, "use_policy.updated")).at(-1)!;
    expect(last.entry.details).toMatchObject({ after: { origins: policy.origins } });
    expect(last.entry.details.before).not.toBeNull();
  });
});

describe("property: permissions × roles × teams", () => {
  it("a value reaches a caller only through a lease its role and ACL lease permission allow; the proxy never returns it", async () => {
    const identities = ["agent:bot", "agent:other", "user:dev@acme.test"] as const;
    const tokens = await Promise.all(
      ROLES.flatMap((role) =>
        identities.map(async (identity) => ({
          role,
          identity,
          token: await tokenWithRole(w.adminToken, role, identity),
        })),
      ),
    );
    // A policy every run can use, so use is decided by role and ACL alone.
    await expectStatus(
      await api(w.adminToken, "PUT", "/v1/credentials/openai/use", {
        origins: ["https://api.example.com"],
        inject: { type: "header", name: "Authorization", template: "Bearer {value}" },
      }),
      200,
    );
    const forms = Object.values(encodingsOf(VALUE));
    const rule = fc.record({
      effect: fc.constantFrom("allow" as const, "deny" as const),
      identity: fc.constantFrom("agent:*", "agent:bot", "user:*", "team:crew", "team:ghost"),
      permissions: fc.option(fc.subarray(["lease", "use"] as ("lease" | "use")[], { minLength: 1 }), {
        nil: undefined,
      }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(rule, { maxLength: 3 }), fc.subarray([...identities]), async (rules, crew) => {
        const acl = {
          rules: rules.map((r) => (r.permissions ? r : { effect: r.effect, identity: r.identity })),
          agent_visible: false,
        } as Acl;
        await setTeam("crew", crew);
        await setAcl(acl.rules);
        const teams = [{ name: "crew", members: crew }];
        for (const t of tokens) {
          const mayLease = roleAtLeast(t.role, "user") && evaluateAcl(acl, t.identity, "lease", teams).allowed;
          const mayUse = roleAtLeast(t.role, "user") && evaluateAcl(acl, t.identity, "use", teams).allowed;
          const leased = await api(t.token, "POST", "/v1/leases", { credential: "openai" });
          expect(leased.status, `${t.role} ${t.identity} lease ${JSON.stringify(acl.rules)} crew=${crew}`).toBe(
            mayLease ? 201 : 403,
          );
          const used = await useCall(t.token, "openai", echo);
          expect(used.status, `${t.role} ${t.identity} use`).toBe(mayUse ? 200 : 403);
          const text = await used.text();
          if (mayUse) expect(bodyText(JSON.parse(text) as UseAnswer)).toContain("[REDACTED:ghostvault]");
          for (const form of forms) expect(text).not.toContain(form);
        }
      }),
      { numRuns: 8 },
    );
  });
});
