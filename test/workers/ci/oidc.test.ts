import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { vaultStub } from "../../../worker/routes/define";
import { BASE, api, bootstrap, createCredential, expectStatus, workerFetch } from "../helpers";
import { EC, NOW, NOW_MS, RSA, ATTACKER_RSA, publicJwk, signToken, jsonSegment } from "../federation/jwt-fixtures";

type ErrorBody = { error: { code: string; message: string } };
type Granted = { identity: string; leases: { lease: { identity: string; credential_name: string; token_id: string }; value: string }[] };

/** A tenant with a GitHub-style trust policy whose keys a test issuer Worker serves. */
async function world(policy: Record<string, unknown> = {}) {
  const { tenantId, adminToken } = await bootstrap();
  await vaultStub(env, tenantId).setClockForTest(NOW_MS);
  const id = crypto.randomUUID();
  const issuer = `https://issuer.test/${id}`;
  await env.OIDC_TEST_ISSUER.fetch(`https://issuer.test/__issuer/${id}`, {
    method: "PUT",
    body: JSON.stringify({ jwks: { keys: [await publicJwk(RSA, "rsa-1"), await publicJwk(EC, "ec-1")] } }),
  });
  await createCredential(adminToken, "deploy/aws-key", "AKIA-canary");
  await createCredential(adminToken, "prod/db", "db-canary");
  const trust = {
    name: "github-main",
    issuer,
    audience: "https://vault.example.com",
    conditions: { repository_owner: "acme", ref: "refs/heads/main" },
    identity_template: "ci:github:{repository}@{ref}",
    credentials: ["deploy/*"],
    max_ttl: "15m",
    ...policy,
  };
  await expectStatus(await api(adminToken, "POST", "/v1/oidc/trusts", trust), 201);
  const claims = (over: Record<string, unknown> = {}) => ({
    iss: issuer, aud: "https://vault.example.com", sub: "repo:acme/api:ref:refs/heads/main", repository: "acme/api", repository_owner: "acme",
    ref: "refs/heads/main", iat: NOW - 5, nbf: NOW - 5, exp: NOW + 300, ...over,
  });
  const ask = (token: string, credentials = ["deploy/aws-key"]) =>
    workerFetch(`${BASE}/v1/ci/leases`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ tenant_id: tenantId, token, credentials, ttl: "10m" }) });
  return { tenantId, adminToken, id, issuer, claims, ask };
}

describe("CI federation by OIDC", () => {
  it("leases with a GitHub-shaped RS256 or ES256 token; identity from the template; values returned", async () => {
    const w = await world();
    for (const [alg, key, kid] of [["RS256", RSA.privateKey, "rsa-1"], ["ES256", EC.privateKey, "ec-1"]] as const) {
      const granted = await expectStatus<Granted>(await w.ask(await signToken(alg, key, { kid }, w.claims())), 201);
      expect(granted.identity).toBe("ci:github:acme/api@refs/heads/main");
      expect(granted.leases[0]).toMatchObject({ value: "AKIA-canary", lease: { identity: "ci:github:acme/api@refs/heads/main", credential_name: "deploy/aws-key" } });
      expect(granted.leases[0]!.lease.token_id).toMatch(/^oidc:trust_/);
    }
  });

  it.each([
    ["expired", { exp: NOW - 120, iat: NOW - 600, nbf: NOW - 600 }, 401],
    ["not yet valid", { nbf: NOW + 600 }, 401],
    ["wrong audience", { aud: "https://other.example.com" }, 401],
    ["claims matching no policy (feature branch)", { ref: "refs/heads/feature" }, 403],
    ["claims matching no policy (other owner)", { repository_owner: "evil", repository: "evil/api" }, 403],
  ])("refuses a token that is %s, audited, with a positive control", async (_what, over, status) => {
    const w = await world();
    await expectStatus(await w.ask(await signToken("RS256", RSA.privateKey, { kid: "rsa-1" }, w.claims())), 201);
    const refused = await expectStatus<ErrorBody>(await w.ask(await signToken("RS256", RSA.privateKey, { kid: "rsa-1" }, w.claims(over))), status);
    expect(refused.error.code).toBe(status === 401 ? "unauthorized" : "forbidden");
    const audit = await expectStatus<{ items: { entry: { outcome: string; details: Record<string, unknown> } }[] }>(await api(w.adminToken, "GET", "/v1/audit?type=oidc.denied"), 200);
    expect(audit.items).toHaveLength(1);
    expect(JSON.stringify(audit.items)).not.toContain("eyJ");
  });

  it("refuses alg none, a foreign key, an unknown kid and an unknown issuer", async () => {
    const w = await world();
    const none = `${jsonSegment({ alg: "none", typ: "JWT", kid: "rsa-1" })}.${jsonSegment(w.claims())}.`;
    expect((await w.ask(none)).status).toBe(401);
    expect((await w.ask(await signToken("RS256", ATTACKER_RSA.privateKey, { kid: "rsa-1" }, w.claims()))).status).toBe(401);
    const unknownKid = await expectStatus<ErrorBody>(await w.ask(await signToken("RS256", RSA.privateKey, { kid: "rsa-9" }, w.claims())), 401);
    expect(unknownKid.error.message).toContain("unknown_kid");
    expect((await w.ask(await signToken("RS256", RSA.privateKey, { kid: "rsa-1" }, w.claims({ iss: "https://issuer.test/nobody" })))).status).toBe(401);
    await expectStatus(await w.ask(await signToken("RS256", RSA.privateKey, { kid: "rsa-1" }, w.claims())), 201);
  });

  it("leases only credentials the policy names, and caps the TTL at the policy maximum", async () => {
    const w = await world();
    const token = await signToken("RS256", RSA.privateKey, { kid: "rsa-1" }, w.claims());
    expect((await expectStatus<ErrorBody>(await w.ask(token, ["prod/db"]), 403)).error.code).toBe("acl_denied");
    const granted = await expectStatus<{ leases: { lease: { issued_at: string; expires_at: string } }[] }>(
      await workerFetch(`${BASE}/v1/ci/leases`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ tenant_id: w.tenantId, token, credentials: ["deploy/aws-key"], ttl: "2h" }) }),
      201,
    );
    const { issued_at, expires_at } = granted.leases[0]!.lease;
    expect(Date.parse(expires_at) - Date.parse(issued_at)).toBe(15 * 60 * 1000);
  });

  it("fetches the JWKS once and refetches on an unknown kid at most once a minute", async () => {
    const w = await world();
    const stats = async () => ((await (await env.OIDC_TEST_ISSUER.fetch(`https://issuer.test/__issuer/${w.id}/stats`)).json()) as { jwksFetches: number }).jwksFetches;
    const unknownKid = async (i: number) => expect((await w.ask(await signToken("RS256", RSA.privateKey, { kid: `nope-${i}` }, w.claims()))).status).toBe(401);
    for (let i = 0; i < 3; i++) await expectStatus(await w.ask(await signToken("RS256", RSA.privateKey, { kid: "rsa-1" }, w.claims())), 201);
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
    const manager = await expectStatus<{ token: string }>(await api(w.adminToken, "POST", "/v1/tokens", { name: "m", role: "manager", identity: "user:m@acme.com" }), 201);
    expect((await api(manager.token, "GET", "/v1/oidc/trusts")).status).toBe(403);
    expect((await expectStatus<{ items: unknown[] }>(await api(w.adminToken, "GET", "/v1/oidc/trusts"), 200)).items).toHaveLength(1);
    const noConditions = { name: "loose", issuer: w.issuer, audience: "a", conditions: {}, identity_template: "ci:x:{sub}", credentials: ["*"] };
    expect((await expectStatus<ErrorBody>(await api(w.adminToken, "POST", "/v1/oidc/trusts", noConditions), 400)).error.message).toContain("condition");
    await expectStatus(await api(w.adminToken, "DELETE", "/v1/oidc/trusts/github-main"), 204);
    expect((await w.ask(await signToken("RS256", RSA.privateKey, { kid: "rsa-1" }, w.claims()))).status).toBe(401);
  });
});
