/**
 * Issue 9 §1 through the real route: a claim value holding the template's separators must not
 * render an identity that an ACL written for someone else matches.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { vaultStub } from "../../../worker/routes/define";
import { BASE, api, bootstrap, createCredential, expectStatus, workerFetch } from "../helpers";
import { NOW, NOW_MS, RSA, publicJwk, signToken } from "../federation/jwt-fixtures";

type Granted = { identity: string; leases: { value: string }[] };
type AuditPage = { items: { entry: { type: string; details: Record<string, unknown> } }[] };

/**
 * A tenant trusting every repository of `acme` (no ref condition: the ACL is what pins the ref),
 * with `deploy/key` leasable only by `ci:github:acme/*@refs/heads/main`.
 */
async function acmeTenant() {
  const { tenantId, adminToken } = await bootstrap();
  await vaultStub(env, tenantId).setClockForTest(NOW_MS);
  const id = crypto.randomUUID();
  const issuer = `https://issuer.test/${id}`;
  await env.OIDC_TEST_ISSUER.fetch(`https://issuer.test/__issuer/${id}`, {
    method: "PUT",
    body: JSON.stringify({ jwks: { keys: [await publicJwk(RSA, "rsa-1")] } }),
  });
  await createCredential(adminToken, "deploy/key", "deploy-canary");
  await expectStatus(
    await api(adminToken, "PUT", "/v1/credentials/deploy%2Fkey/acl", {
      rules: [{ effect: "allow", identity: "ci:github:acme/*@refs/heads/main" }],
    }),
    200,
  );
  const trust = {
    name: "acme",
    issuer,
    audience: "vault",
    conditions: { repository_owner: "acme" },
    identity_template: "ci:github:{repository}@{ref}",
    credentials: ["deploy/*"],
  };
  await expectStatus(await api(adminToken, "POST", "/v1/oidc/trusts", trust), 201);
  const lease = async (claims: Record<string, unknown>) => {
    const token = await signToken(
      "RS256",
      RSA.privateKey,
      { kid: "rsa-1" },
      {
        iss: issuer,
        aud: "vault",
        repository_owner: "acme",
        repository: "acme/api",
        iat: NOW - 5,
        exp: NOW + 300,
        ...claims,
      },
    );
    return workerFetch(`${BASE}/v1/ci/leases`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ tenant_id: tenantId, token, credentials: ["deploy/key"] }),
    });
  };
  const audit = async (type: string) =>
    (await expectStatus<AuditPage>(await api(adminToken, "GET", `/v1/audit?type=${type}`), 200)).items.map(
      (i) => i.entry,
    );
  return { lease, audit };
}

describe("identity injection through CI claims", () => {
  it("a ref of refs/heads/x@refs/heads/main does not match an ACL for refs/heads/main (control: the real main ref does)", async () => {
    const t = await acmeTenant();
    const granted = await expectStatus<Granted>(await t.lease({ ref: "refs/heads/main" }), 201);
    expect(granted.identity).toBe("ci:github:acme/api@refs/heads/main");
    expect(granted.leases[0]!.value).toBe("deploy-canary");

    const refused = await t.lease({ ref: "refs/heads/x@refs/heads/main" });
    expect(refused.status).toBe(403);
    expect(JSON.stringify(await refused.json())).not.toContain("deploy-canary");
    const denied = await t.audit("lease.denied");
    expect(denied.map((e) => e.details)).toContainEqual(expect.objectContaining({ credential: "deploy/key" }));
  });

  it("a repository holding the separator cannot borrow another ref either (control: a plain repository can)", async () => {
    const t = await acmeTenant();
    await expectStatus(await t.lease({ repository: "acme/tools", ref: "refs/heads/main" }), 201);
    expect((await t.lease({ repository: "acme/x@refs/heads/main", ref: "refs/heads/feature" })).status).toBe(403);
  });

  it("claims that cannot form an identity are refused and audited as claim_not_representable (control: a short ref leases)", async () => {
    const t = await acmeTenant();
    await expectStatus(await t.lease({ ref: "refs/heads/main" }), 201);
    const refused = await t.lease({ ref: `refs/heads/${"é".repeat(100)}` }); // 600 characters once encoded
    // Every CI refusal is the same opaque 401 (issue 9 §8); the cause is only in the audit log.
    expect(refused.status).toBe(401);
    const reasons = (await t.audit("oidc.denied")).map((e) => String(e.details.reason));
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toContain("claim_not_representable");
  });
});
