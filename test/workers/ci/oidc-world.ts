/**
 * The CI federation test world: a tenant with a GitHub-style trust policy whose keys a test
 * issuer Worker serves, and helpers to mint tokens and exchange them. Shared by the OIDC tests.
 */
import { env } from "cloudflare:test";
import { vaultStub } from "../../../worker/routes/define";
import { BASE, api, bootstrap, createCredential, expectStatus, workerFetch } from "../helpers";
import { EC, NOW, NOW_MS, RSA, publicJwk } from "../federation/jwt-fixtures";

export type { ErrorBody } from "../helpers";
export type Granted = {
  identity: string;
  leases: { lease: { identity: string; credential_name: string; token_id: string }; value: string }[];
};

/** A tenant with a GitHub-style trust policy whose keys a test issuer Worker serves. */
export async function world(policy: Record<string, unknown> = {}) {
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
  // A fresh jti per token: each ID token is single-use, so every exchange needs its own.
  const claims = (over: Record<string, unknown> = {}) => ({
    jti: crypto.randomUUID(),
    iss: issuer,
    aud: "https://vault.example.com",
    sub: "repo:acme/api:ref:refs/heads/main",
    repository: "acme/api",
    repository_owner: "acme",
    ref: "refs/heads/main",
    iat: NOW - 5,
    nbf: NOW - 5,
    exp: NOW + 300,
    ...over,
  });
  const ask = (token: string, credentials = ["deploy/aws-key"]) =>
    workerFetch(`${BASE}/v1/ci/leases`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ tenant_id: tenantId, token, credentials, ttl: "10m" }),
    });
  return { tenantId, adminToken, id, issuer, claims, ask };
}

/** JWKS and discovery fetches the test issuer Worker has served for issuer `id`. */
export async function issuerStats(id: string): Promise<{ jwksFetches: number; discoveryFetches: number }> {
  return (await (await env.OIDC_TEST_ISSUER.fetch(`https://issuer.test/__issuer/${id}/stats`)).json()) as {
    jwksFetches: number;
    discoveryFetches: number;
  };
}
