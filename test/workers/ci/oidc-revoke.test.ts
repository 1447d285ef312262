import { describe, expect, it } from "vitest";
import { BASE, api, expectStatus, workerFetch } from "../helpers";
import { RSA, signToken } from "../federation/jwt-fixtures";
import { world, type ErrorBody, type Granted } from "./oidc-world";

/**
 * POST /v1/ci/leases/revoke: the end of a CI job (the GitHub Action's post step, `ghostvault ci
 * revoke`) gives its leases back with a fresh ID token. Only the token's identity's leases, each
 * token once.
 */

type Revoked = { identity: string; leases: { id: string; state: string }[] };

// Identity per repository, so two jobs of the same owner are two identities under one policy.
const POLICY = { conditions: { repository_owner: "acme" }, identity_template: "ci:github:{repository}" };

async function setup() {
  const w = await world(POLICY);
  const mint = (over: Record<string, unknown> = {}) =>
    signToken("RS256", RSA.privateKey, { kid: "rsa-1" }, w.claims(over));
  const lease = async (over: Record<string, unknown> = {}) =>
    (await expectStatus<Granted & { leases: { lease: { id: string } }[] }>(await w.ask(await mint(over)), 201))
      .leases[0]!.lease.id;
  const revoke = (token: string, lease_ids: unknown) =>
    workerFetch(`${BASE}/v1/ci/leases/revoke`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ tenant_id: w.tenantId, token, lease_ids }),
    });
  const state = async (id: string) =>
    (await expectStatus<{ state: string }>(await api(w.adminToken, "GET", `/v1/leases/${id}`), 200)).state;
  return { ...w, mint, lease, revoke, state };
}

describe("CI leases revoked at the end of the job (OIDC)", () => {
  it("revokes the job's own leases with a fresh token, audited; an already revoked lease is returned as it is", async () => {
    const w = await setup();
    const [a, b] = [await w.lease(), await w.lease()];
    const revoked = await expectStatus<Revoked>(await w.revoke(await w.mint(), [a, b]), 200);
    expect(revoked.identity).toBe("ci:github:acme/api");
    expect(revoked.leases.map((l) => [l.id, l.state])).toEqual([
      [a, "revoked"],
      [b, "revoked"],
    ]);
    expect(await w.state(a)).toBe("revoked");
    const audit = await expectStatus<{
      items: { entry: { actor: { identity: string }; details: { lease_id: string } } }[];
    }>(await api(w.adminToken, "GET", "/v1/audit?type=lease.revoked"), 200);
    expect(audit.items.map((i) => i.entry.details.lease_id).sort()).toEqual([a, b].sort());
    // A post step retried after a partial failure: the second call succeeds and changes nothing.
    const again = await expectStatus<Revoked>(await w.revoke(await w.mint(), [a]), 200);
    expect(again.leases.map((l) => l.state)).toEqual(["revoked"]);
  });

  it("refuses another identity's lease (404, audited, still active); its holder can revoke it", async () => {
    const w = await setup();
    const theirs = await w.lease({ repository: "acme/web", sub: "repo:acme/web:ref:refs/heads/main" });
    const refused = await expectStatus<ErrorBody>(await w.revoke(await w.mint(), [theirs]), 404);
    expect(refused.error.code).toBe("not_found");
    expect(await w.state(theirs)).toBe("active");
    const denied = await expectStatus<{ items: unknown[] }>(
      await api(w.adminToken, "GET", "/v1/audit?type=lease.revoke_denied"),
      200,
    );
    expect(denied.items).toHaveLength(1);
    // Positive control: the holder's own token revokes it.
    await expectStatus<Revoked>(
      await w.revoke(await w.mint({ repository: "acme/web", sub: "repo:acme/web:ref:refs/heads/main" }), [theirs]),
      200,
    );
    expect(await w.state(theirs)).toBe("revoked");
  });

  it("refuses a person's lease to a CI token; the admin's lease stays active", async () => {
    const w = await setup();
    const mine = (
      await expectStatus<{ lease: { id: string } }>(
        await api(w.adminToken, "POST", "/v1/leases", { credential: "deploy/aws-key", ttl: "5m" }),
        201,
      )
    ).lease.id;
    await expectStatus(await w.revoke(await w.mint(), [mine]), 404);
    expect(await w.state(mine)).toBe("active");
  });

  it("refuses the token already used for the exchange (replayed, opaque 401); a fresh one works", async () => {
    const w = await setup();
    const token = await w.mint();
    const id = (await expectStatus<{ leases: { lease: { id: string } }[] }>(await w.ask(token), 201)).leases[0]!.lease
      .id;
    expect((await expectStatus<ErrorBody>(await w.revoke(token, [id]), 401)).error.code).toBe("unauthorized");
    expect(await w.state(id)).toBe("active");
    await expectStatus(await w.revoke(await w.mint(), [id]), 200);
    expect(await w.state(id)).toBe("revoked");
  });

  it.each([
    ["no lease ids", []],
    ["a malformed lease id", ["lease_nope"]],
    ["more than 20", Array.from({ length: 21 }, (_, i) => `lease_${i.toString(16).padStart(24, "0")}`)],
  ])("answers 400 naming lease_ids for %s, and revokes nothing", async (_what, ids) => {
    const w = await setup();
    const id = await w.lease();
    const refused = await expectStatus<ErrorBody>(await w.revoke(await w.mint(), ids), 400);
    expect(refused.error.message).toContain("lease_ids");
    expect(await w.state(id)).toBe("active");
  });
});
