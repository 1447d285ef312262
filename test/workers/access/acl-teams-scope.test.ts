import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { vaultStub } from "../../../worker/routes/define";
import { api, bootstrap, expectStatus, tokenWithRole } from "../helpers";
import { lease, makeCredential } from "../leases/lease-helpers";

/**
 * The lease path reads only the teams its credential's ACL names (issue 16): a lease costs the
 * same whatever the number of teams, and a team no rule names cannot affect it. Shown with a team
 * row broken in storage: it fails closed where a rule names it, and nowhere else.
 */
describe("ACL evaluation reads only the teams the ACL names", () => {
  it("an unrelated team broken in storage leaves other leases alone; a credential naming it fails closed", async () => {
    const { tenantId, adminToken } = await bootstrap();
    const user = await tokenWithRole(adminToken, "user", "agent:bot");
    await makeCredential(adminToken, "svc/open", "open-value");
    await makeCredential(adminToken, "svc/by-team", "team-value");
    await makeCredential(adminToken, "svc/by-broken", "broken-value");
    await expectStatus(await api(adminToken, "PUT", "/v1/teams/bots", { members: ["agent:*"] }), 200);
    await expectStatus(await api(adminToken, "PUT", "/v1/teams/broken", { members: ["agent:*"] }), 200);
    for (const [name, team] of [
      ["svc/by-team", "bots"],
      ["svc/by-broken", "broken"],
    ] as const)
      await expectStatus(
        await api(adminToken, "PUT", `/v1/credentials/${encodeURIComponent(name)}/acl`, {
          rules: [{ effect: "allow", identity: `team:${team}` }],
        }),
        200,
      );
    // Positive control: every lease works while the teams are sound.
    for (const name of ["svc/open", "svc/by-team", "svc/by-broken"])
      expect((await lease(user, { credential: name, ttl: "5m" })).lease.credential_name).toBe(name);

    await runInDurableObject(vaultStub(env, tenantId), (_i, state) => {
      state.storage.sql.exec("UPDATE teams SET members = 'not json' WHERE name = 'broken'");
    });
    expect((await lease(user, { credential: "svc/open", ttl: "5m" })).value).toBe("open-value");
    expect((await lease(user, { credential: "svc/by-team", ttl: "5m" })).value).toBe("team-value");
    const refused = await api(user, "POST", "/v1/leases", { credential: "svc/by-broken", ttl: "5m" });
    expect(refused.status).toBe(500);
    expect(await refused.text()).not.toContain("broken-value");
  });
});
