import { env } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { signWebhook } from "../../../worker/core/federation/webhook-signature";
import { AUTH_ROUTES } from "../../../worker/contract/operations";
import { vaultStub } from "../../../worker/routes/define";
import { EC, NOW, NOW_MS, publicJwk, signToken } from "../federation/jwt-fixtures";
import { api, BASE, bootstrap, createCredential, expectStatus, workerFetch } from "../helpers";

/** Ids of one tenant's resources, by the path parameter that names them. */
type Ids = Record<"ref" | "id" | "lease" | "trust" | "hook" | "team" | "areq", string>;

async function tenantWithEverything(label: string) {
  const { tenantId, adminToken } = await bootstrap(label);
  const cred = await createCredential(adminToken, `shared/${label}`, `value-${label}`);
  const lease = await expectStatus<{ lease: { id: string } }>(
    await api(adminToken, "POST", "/v1/leases", { credential: cred.id, ttl: "5m" }),
    201,
  );
  const token = await expectStatus<{ id: string }>(
    await api(adminToken, "POST", "/v1/tokens", { name: "t", role: "viewer", identity: "user:v@x.test" }),
    201,
  );
  const session = await expectStatus<{ id: string; token: string }>(
    await api(adminToken, "POST", "/v1/sessions", { ttl: "1h" }),
    201,
  );
  const hook = await expectStatus<{ webhook: { id: string }; secret: string }>(
    await api(adminToken, "POST", "/v1/webhooks", { name: `hook-${label}`, credentials: ["shared/*"] }),
    201,
  );
  // Names differ per tenant: a name-addressed route must not find its own namesake and pass for a leak.
  await expectStatus(await api(adminToken, "PUT", `/v1/teams/team-${label}`, { members: ["agent:*"] }), 200);
  // An access request: an approve rule holds the bootstrap admin's own leases of a second credential.
  const held = await createCredential(adminToken, `held/${label}`, `held-${label}`);
  await expectStatus(
    await api(adminToken, "PUT", `/v1/credentials/${held.id}/acl`, {
      rules: [{ effect: "approve", identity: "user:admin@acme.test", approvers: { role: "admin" } }],
    }),
    200,
  );
  const request = await expectStatus<{ request: { id: string } }>(
    await api(adminToken, "POST", "/v1/leases", { credential: held.id }),
    202,
  );
  const ids: Ids = {
    ref: cred.id,
    id: token.id,
    lease: lease.lease.id,
    trust: `trust-${label}`,
    hook: `hook-${label}`,
    team: `team-${label}`,
    areq: request.request.id,
  };
  return { tenantId, adminToken, sessionToken: session.token, sessionId: session.id, hookSecret: hook.secret, ids };
}

/** Well-formed ids that exist nowhere. */
const MISSING: Ids = {
  ref: "cred_000000000000000000000000",
  id: "tok_000000000000000000000000",
  lease: "lease_000000000000000000000000",
  trust: "nobody",
  hook: "nobody",
  team: "nobody",
  areq: "areq_000000000000000000000000",
};

/** Fills a route's path from a tenant's ids: `:ref` → credential, `:id` → token, session or lease by route. */
function pathFor(path: string, ids: Ids): string {
  return path
    .replace(":ref", path.startsWith("/v1/oidc") ? ids.trust : path.startsWith("/v1/webhooks") ? ids.hook : ids.ref)
    .replace(
      ":id",
      path.startsWith("/v1/leases") ? ids.lease : path.startsWith("/v1/access-requests") ? ids.areq : ids.id,
    )
    .replace(":name", ids.team);
}

const BODIES: Record<string, unknown> = {
  "credentials.update": { description: "x" },
  "credentials.rotate": { value: "new" },
  "leases.renew": { ttl: "1m" },
  "acl.set": { rules: [] },
  "use.set": { origins: ["https://api.example.com"], inject: { type: "query", name: "key" } },
  "use.request": { method: "GET", url: "https://api.example.com/v1/echo" },
  "access_requests.approve": {},
  "access_requests.deny": { reason: "no" },
};

/** Required query strings, so a route reaches its lookup instead of failing validation. */
const QUERIES: Record<string, string> = { "acl.check": "?identity=agent:x" };

/**
 * Routes addressing something of another tenant by id or name. PUT /v1/teams/:name is left out:
 * it creates or replaces A's own team of that name, which is not reaching B (api/isolation.test.ts
 * checks that B is unchanged by every route).
 */
const ADDRESSING_ROUTES = AUTH_ROUTES.filter((r) => r.path.includes(":") && r.operation !== "teams.set");

describe("tenant isolation as a property", () => {
  it("a tenant's API and session tokens never reach another tenant's resources, and 'exists there' looks exactly like 'exists nowhere'", {
    timeout: 120_000,
  }, async () => {
    const a = await tenantWithEverything("a");
    const b = await tenantWithEverything("b");
    const routes = ADDRESSING_ROUTES;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), fc.constantFrom("api", "session"), async (route, kind) => {
        const token = kind === "api" ? a.adminToken : a.sessionToken;
        const body = BODIES[route.operation];
        const query = QUERIES[route.operation] ?? "";
        const onB = await api(token, route.method.toUpperCase(), pathFor(route.path, b.ids) + query, body);
        const onNothing = await api(token, route.method.toUpperCase(), pathFor(route.path, MISSING) + query, body);
        const [x, y] = [
          (await onB.json()) as { error?: { code: string; message: string } },
          (await onNothing.json()) as { error?: { code: string; message: string } },
        ];
        expect(onB.status, `${route.method} ${route.path} with ${kind} token on tenant B`).toBe(404);
        expect([onB.status, x.error?.code, x.error?.message]).toEqual([
          onNothing.status,
          y.error?.code,
          y.error?.message,
        ]);
      }),
      { numRuns: 40 },
    );
    // Positive control: the same routes work on the tenant's own resources.
    await expectStatus(await api(a.adminToken, "GET", pathFor("/v1/credentials/:ref", a.ids)), 200);
    await expectStatus(await api(a.sessionToken, "GET", pathFor("/v1/leases/:id", a.ids)), 200);
  });

  it("a tenant's webhook signatures and OIDC tokens are refused by another tenant", { timeout: 60_000 }, async () => {
    const a = await tenantWithEverything("a");
    const b = await tenantWithEverything("b");
    const issuerId = crypto.randomUUID();
    const issuer = `https://issuer.test/${issuerId}`;
    await env.OIDC_TEST_ISSUER.fetch(`https://issuer.test/__issuer/${issuerId}`, {
      method: "PUT",
      body: JSON.stringify({ jwks: { keys: [await publicJwk(EC, "ec-1")] } }),
    });
    const trust = {
      name: "trust-a",
      issuer,
      audience: "vault",
      conditions: { repository_owner: "a-org" },
      identity_template: "ci:github:{repository}",
      credentials: ["shared/*"],
    };
    await expectStatus(await api(a.adminToken, "POST", "/v1/oidc/trusts", trust), 201);
    await expectStatus(
      await api(b.adminToken, "POST", "/v1/oidc/trusts", {
        ...trust,
        name: "trust-b",
        conditions: { repository_owner: "b-org" },
      }),
      201,
    );
    for (const t of [a, b]) await vaultStub(env, t.tenantId).setClockForTest(NOW_MS);
    const ciToken = await signToken(
      "ES256",
      EC.privateKey,
      { kid: "ec-1" },
      {
        iss: issuer,
        aud: "vault",
        sub: "x",
        repository: "a-org/app",
        repository_owner: "a-org",
        iat: NOW,
        exp: NOW + 300,
      },
    );
    const lease = (tenant: string) =>
      workerFetch(`${BASE}/v1/ci/leases`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ tenant_id: tenant, token: ciToken, credentials: ["shared/a"] }),
      });
    await expectStatus(await lease(a.tenantId), 201);
    // B's policy does not match A's job: the one opaque CI refusal (issue 9 §8).
    expect((await lease(b.tenantId)).status).toBe(401);

    await fc.assert(
      fc.asyncProperty(fc.constantFrom("shared/a", "shared/b"), async (credential) => {
        const body = JSON.stringify({ credentials: [credential] });
        const ts = Math.floor(Date.now() / 1000);
        const signature = await signWebhook(a.hookSecret, ts, body);
        // B has a webhook of its own; A's signature is for A's, presented under B's name.
        const res = await workerFetch(`${BASE}/v1/ci/webhooks/${b.tenantId}/hook-b/leases`, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "x-vault-timestamp": String(ts),
            "x-vault-signature": signature,
          },
          body,
        });
        expect(res.status).toBe(401);
      }),
      { numRuns: 10 },
    );
  });
});
