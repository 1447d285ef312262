import { describe, expect, it } from "vitest";
import { api, bootstrap, createCredential, expectStatus, tokenWithRole, type ErrorBody } from "../helpers";

async function setAcl(token: string, ref: string, rules: { effect: "allow" | "deny"; identity: string }[]) {
  return expectStatus(await api(token, "PUT", `/v1/credentials/${ref}/acl`, { rules }), 200);
}

async function lease(token: string, credential: string) {
  return api(token, "POST", "/v1/leases", { credential, ttl: "1m" });
}

describe("credential ACLs", () => {
  it("with no rules lets any user lease, and a viewer still cannot (role first)", async () => {
    const { adminToken } = await bootstrap();
    await createCredential(adminToken, "db");
    const user = await tokenWithRole(adminToken, "user", "agent:bot@ci");
    const viewer = await tokenWithRole(adminToken, "viewer", "agent:bot2@ci");
    await expectStatus(await lease(user, "db"), 201);
    expect((await expectStatus<ErrorBody>(await lease(viewer, "db"), 403)).error.code).toBe("forbidden");
  });

  it("allow rules admit only matching identities; refusal names the credential, not the rules, and is audited", async () => {
    const { adminToken } = await bootstrap();
    await createCredential(adminToken, "db");
    await setAcl(adminToken, "db", [{ effect: "allow", identity: "ci:github:acme/*@refs/heads/main" }]);
    const main = await tokenWithRole(adminToken, "user", "ci:github:acme/api@refs/heads/main");
    const branch = await tokenWithRole(adminToken, "user", "ci:github:acme/api@refs/heads/feature");
    await expectStatus(await lease(main, "db"), 201);
    const refused = await expectStatus<ErrorBody>(await lease(branch, "db"), 403);
    expect(refused.error.code).toBe("acl_denied");
    expect(refused.error.message).toContain('"db"');
    expect(refused.error.message).not.toContain("refs/heads/main");
    const audit = await expectStatus<{
      items: { entry: { type: string; outcome: string; details: { code: string } } }[];
    }>(await api(adminToken, "GET", "/v1/audit?type=lease.denied"), 200);
    expect(audit.items.map((i) => [i.entry.outcome, i.entry.details.code])).toEqual([["denied", "acl_denied"]]);
  });

  it("deny wins over an allow that also matches, wherever it stands", async () => {
    const { adminToken } = await bootstrap();
    await createCredential(adminToken, "db");
    await setAcl(adminToken, "db", [
      { effect: "allow", identity: "agent:*" },
      { effect: "deny", identity: "agent:untrusted-*" },
    ]);
    const trusted = await tokenWithRole(adminToken, "user", "agent:claude@laptop");
    const untrusted = await tokenWithRole(adminToken, "user", "agent:untrusted-bot@x");
    await expectStatus(await lease(trusted, "db"), 201);
    expect((await expectStatus<ErrorBody>(await lease(untrusted, "db"), 403)).error.code).toBe("acl_denied");
  });

  it("deny-only rules refuse the matching identities and allow the rest", async () => {
    const { adminToken } = await bootstrap();
    await createCredential(adminToken, "db");
    await setAcl(adminToken, "db", [{ effect: "deny", identity: "agent:*" }]);
    const person = await tokenWithRole(adminToken, "user", "user:alice@acme.com");
    const agent = await tokenWithRole(adminToken, "user", "agent:bot@x");
    await expectStatus(await lease(person, "db"), 201);
    await expectStatus(await lease(agent, "db"), 403);
  });

  it("managers read and set ACLs; changes are audited with before and after; users may not", async () => {
    const { adminToken } = await bootstrap();
    await createCredential(adminToken, "db");
    const manager = await tokenWithRole(adminToken, "manager");
    const user = await tokenWithRole(adminToken, "user");
    const rules = [{ effect: "allow", identity: "user:*@acme.com" }] as const;
    expect(
      (await expectStatus<ErrorBody>(await api(user, "PUT", "/v1/credentials/db/acl", { rules }), 403)).error.code,
    ).toBe("forbidden");
    await setAcl(manager, "db", [...rules]);
    expect(await expectStatus(await api(manager, "GET", "/v1/credentials/db/acl"), 200)).toEqual({
      rules,
      agent_visible: false,
    });
    const audit = await expectStatus<{ items: { entry: { details: { before: unknown; after: unknown } } }[] }>(
      await api(adminToken, "GET", "/v1/audit?type=acl.updated"),
      200,
    );
    expect(audit.items[0]!.entry.details).toMatchObject({
      before: { rules: [], agent_visible: false },
      after: { rules, agent_visible: false },
    });
  });

  it("refuses malformed rules with a 400 and changes nothing", async () => {
    const { adminToken } = await bootstrap();
    await createCredential(adminToken, "db");
    for (const body of [
      { rules: [{ effect: "maybe", identity: "agent:*" }] },
      { rules: [{ effect: "allow", identity: "has space" }] },
      { rules: [], extra: 1 },
    ]) {
      expect(
        (await expectStatus<ErrorBody>(await api(adminToken, "PUT", "/v1/credentials/db/acl", body), 400)).error.code,
      ).toBe("validation_failed");
    }
    expect(await expectStatus(await api(adminToken, "GET", "/v1/credentials/db/acl"), 200)).toEqual({
      rules: [],
      agent_visible: false,
    });
  });
});
