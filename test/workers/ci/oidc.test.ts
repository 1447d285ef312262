import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { vaultStub } from "../../../worker/routes/define";
import { BASE, api, expectStatus, workerFetch } from "../helpers";
import { EC, NOW, NOW_MS, RSA, ATTACKER_RSA, signToken, jsonSegment } from "../federation/jwt-fixtures";
import { issuerStats, world, type ErrorBody, type Granted } from "./oidc-world";

describe("CI federation by OIDC", () => {
  it("leases with a GitHub-shaped RS256 or ES256 token; identity from the template; values returned", async () => {
    const w = await world();
    for (const [alg, key, kid] of [
      ["RS256", RSA.privateKey, "rsa-1"],
      ["ES256", EC.privateKey, "ec-1"],
    ] as const) {
      const granted = await expectStatus<Granted>(await w.ask(await signToken(alg, key, { kid }, w.claims())), 201);
      expect(granted.identity).toBe("ci:github:acme/api@refs/heads/main");
      expect(granted.leases[0]).toMatchObject({
        value: "AKIA-canary",
        lease: { identity: "ci:github:acme/api@refs/heads/main", credential_name: "deploy/aws-key" },
      });
      expect(granted.leases[0]!.lease.token_id).toMatch(/^oidc:trust_/);
    }
  });

  it.each([
    ["expired", { exp: NOW - 120, iat: NOW - 600, nbf: NOW - 600 }, 401],
    ["not yet valid", { nbf: NOW + 600 }, 401],
    ["wrong audience", { aud: "https://other.example.com" }, 401],
    // Every CI refusal answers the same 401 (issue 9 §8); the cause is in the audit entry.
    ["claims matching no policy (feature branch)", { ref: "refs/heads/feature" }, 401],
    ["claims matching no policy (other owner)", { repository_owner: "evil", repository: "evil/api" }, 401],
  ])("refuses a token that is %s, audited, with a positive control", async (_what, over, status) => {
    const w = await world();
    await expectStatus(await w.ask(await signToken("RS256", RSA.privateKey, { kid: "rsa-1" }, w.claims())), 201);
    const refused = await expectStatus<ErrorBody>(
      await w.ask(await signToken("RS256", RSA.privateKey, { kid: "rsa-1" }, w.claims(over))),
      status,
    );
    expect(refused.error.code).toBe("unauthorized");
    const audit = await expectStatus<{ items: { entry: { outcome: string; details: Record<string, unknown> } }[] }>(
      await api(w.adminToken, "GET", "/v1/audit?type=oidc.denied"),
      200,
    );
    expect(audit.items).toHaveLength(1);
    expect(JSON.stringify(audit.items)).not.toContain("eyJ");
  });

  it("refuses alg none, a foreign key, an unknown kid and an unknown issuer", async () => {
    const w = await world();
    const none = `${jsonSegment({ alg: "none", typ: "JWT", kid: "rsa-1" })}.${jsonSegment(w.claims())}.`;
    expect((await w.ask(none)).status).toBe(401);
    expect((await w.ask(await signToken("RS256", ATTACKER_RSA.privateKey, { kid: "rsa-1" }, w.claims()))).status).toBe(
      401,
    );
    await expectStatus<ErrorBody>(
      await w.ask(await signToken("RS256", RSA.privateKey, { kid: "rsa-9" }, w.claims())),
      401,
    );
    // The caller is told nothing; the tenant's log says why.
    const denied = await expectStatus<{ items: { entry: { details: { reason: string } } }[] }>(
      await api(w.adminToken, "GET", "/v1/audit?type=oidc.denied"),
      200,
    );
    expect(denied.items.map((i) => i.entry.details.reason).join("\n")).toContain("unknown_kid");
    expect(
      (
        await w.ask(
          await signToken("RS256", RSA.privateKey, { kid: "rsa-1" }, w.claims({ iss: "https://issuer.test/nobody" })),
        )
      ).status,
    ).toBe(401);
    await expectStatus(await w.ask(await signToken("RS256", RSA.privateKey, { kid: "rsa-1" }, w.claims())), 201);
  });

  it("leases only credentials the policy names, and caps the TTL at the policy maximum", async () => {
    const w = await world();
    const mint = () => signToken("RS256", RSA.privateKey, { kid: "rsa-1" }, w.claims());
    expect((await expectStatus<ErrorBody>(await w.ask(await mint(), ["prod/db"]), 403)).error.code).toBe("acl_denied");
    const granted = await expectStatus<{ leases: { lease: { issued_at: string; expires_at: string } }[] }>(
      await workerFetch(`${BASE}/v1/ci/leases`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          tenant_id: w.tenantId,
          token: await mint(),
          credentials: ["deploy/aws-key"],
          ttl: "2h",
        }),
      }),
      201,
    );
    const { issued_at, expires_at } = granted.leases[0]!.lease;
    expect(Date.parse(expires_at) - Date.parse(issued_at)).toBe(15 * 60 * 1000);
  });

  it("fetches the JWKS once and refetches on an unknown kid at most once a minute", async () => {
    const w = await world();
    const stats = async () => (await issuerStats(w.id)).jwksFetches;
    const unknownKid = async (i: number) =>
      expect((await w.ask(await signToken("RS256", RSA.privateKey, { kid: `nope-${i}` }, w.claims()))).status).toBe(
        401,
      );
    for (let i = 0; i < 3; i++)
      await expectStatus(await w.ask(await signToken("RS256", RSA.privateKey, { kid: "rsa-1" }, w.claims())), 201);
    expect(await stats()).toBe(1);
    // Within a minute of the last fetch, unknown kids cause no refetch at all.
    for (let i = 0; i < 3; i++) await unknownKid(i);
    expect(await stats()).toBe(1);
    // A minute later, one refetch, then quiet again however many unknown kids arrive.
    await vaultStub(env, w.tenantId).setClockForTest(NOW_MS + 61_000);
    for (let i = 3; i < 6; i++) await unknownKid(i);
    expect(await stats()).toBe(2);
  });

  it("trust policies are admin-only and validated", async () => {
    const w = await world();
    const manager = await expectStatus<{ token: string }>(
      await api(w.adminToken, "POST", "/v1/tokens", { name: "m", role: "manager", identity: "user:m@acme.com" }),
      201,
    );
    expect((await api(manager.token, "GET", "/v1/oidc/trusts")).status).toBe(403);
    expect(
      (await expectStatus<{ items: unknown[] }>(await api(w.adminToken, "GET", "/v1/oidc/trusts"), 200)).items,
    ).toHaveLength(1);
    const noConditions = {
      name: "loose",
      issuer: w.issuer,
      audience: "a",
      conditions: {},
      identity_template: "ci:x:{sub}",
      credentials: ["*"],
    };
    expect(
      (await expectStatus<ErrorBody>(await api(w.adminToken, "POST", "/v1/oidc/trusts", noConditions), 400)).error
        .message,
    ).toContain("condition");
    await expectStatus(await api(w.adminToken, "DELETE", "/v1/oidc/trusts/github-main"), 204);
    expect((await w.ask(await signToken("RS256", RSA.privateKey, { kid: "rsa-1" }, w.claims()))).status).toBe(401);
  });
});
