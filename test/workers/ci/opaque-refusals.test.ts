import { createExecutionContext, env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { signWebhook } from "../../../worker/core/federation/webhook-signature";
import worker from "../../../worker/index";
import { vaultStub } from "../../../worker/routes/define";
import { api, BASE, bootstrap, createCredential, expectStatus, workerFetch } from "../helpers";
import { ATTACKER_RSA, NOW, NOW_MS, RSA, publicJwk, signToken } from "../federation/jwt-fixtures";

/**
 * Issue 9 §8: a CI caller learns nothing about why it was refused, so it cannot find out which
 * tenants, webhooks or issuers exist. Every cause answers the same status and the same body (the
 * request id aside); the cause is in the tenant's audit log. One tenant, shared by the cases.
 */

type Entry = { type: string; details: Record<string, string> };
const UNKNOWN_TENANT = "0123456789abcdef0123";

/** Status, content type and the body without its request id: what must not vary with the cause. */
async function observable(res: Response): Promise<string> {
  const text = await res.text();
  const body = JSON.parse(text) as { error: { request_id?: string } };
  expect(body.error.request_id).toBe(res.headers.get("x-request-id"));
  delete body.error.request_id;
  return JSON.stringify({ status: res.status, type: res.headers.get("content-type"), body });
}

const post = (path: string, body: string, headers: Record<string, string> = {}) =>
  workerFetch(`${BASE}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });

describe("CI refusals are opaque", { timeout: 120_000 }, () => {
  let tenantId: string;
  let adminToken: string;
  let issuer: string;
  let secret: string;
  const claims = (over: Record<string, unknown> = {}) => ({
    iss: issuer,
    aud: "https://vault.example.com",
    repository: "acme/api",
    repository_owner: "acme",
    ref: "refs/heads/main",
    iat: NOW - 5,
    nbf: NOW - 5,
    exp: NOW + 300,
    ...over,
  });
  const oidc = (token: string, tenant = tenantId) =>
    post("/v1/ci/leases", JSON.stringify({ tenant_id: tenant, token, credentials: ["deploy/key"] }));
  const hook = async (
    opts: {
      tenant?: string;
      name?: string;
      key?: string;
      ts?: number;
      body?: string;
      signature?: string;
      type?: string;
    } = {},
  ) => {
    // A fresh purpose each time, so two requests signed in the same second are not replays.
    const body = opts.body ?? JSON.stringify({ credentials: ["deploy/key"], purpose: crypto.randomUUID() });
    const ts = opts.ts ?? NOW; // the tenant's clock is fixed at NOW_MS
    const signature = opts.signature ?? (await signWebhook(opts.key ?? secret, ts, body));
    return post(`/v1/ci/webhooks/${opts.tenant ?? tenantId}/${opts.name ?? "deployer"}/leases`, body, {
      "content-type": opts.type ?? "application/json",
      "x-vault-timestamp": String(ts),
      "x-vault-signature": signature,
    });
  };
  const deniedCauses = async (type: string): Promise<string[]> => {
    const page = await expectStatus<{ items: { entry: Entry }[] }>(
      await api(adminToken, "GET", `/v1/audit?type=${type}&limit=100`),
      200,
    );
    return page.items.map((i) => i.entry.details.reason!);
  };

  beforeAll(async () => {
    ({ tenantId, adminToken } = await bootstrap("opaque"));
    await vaultStub(env, tenantId).setClockForTest(NOW_MS);
    const id = crypto.randomUUID();
    issuer = `https://issuer.test/${id}`;
    await env.OIDC_TEST_ISSUER.fetch(`https://issuer.test/__issuer/${id}`, {
      method: "PUT",
      body: JSON.stringify({ jwks: { keys: [await publicJwk(RSA, "rsa-1")] } }),
    });
    await createCredential(adminToken, "deploy/key", "opaque-canary");
    const trust = {
      name: "gh",
      issuer,
      audience: "https://vault.example.com",
      conditions: { repository_owner: "acme" },
      identity_template: "ci:github:{repository}",
      credentials: ["deploy/*"],
      max_ttl: "10m",
    };
    await expectStatus(await api(adminToken, "POST", "/v1/oidc/trusts", trust), 201);
    ({ secret } = await expectStatus<{ secret: string }>(
      await api(adminToken, "POST", "/v1/webhooks", { name: "deployer", credentials: ["deploy/*"] }),
      201,
    ));
  });

  it("POST /v1/ci/leases: unknown tenant, untrusted issuer, unparseable token, bad signature, unknown kid, expired, wrong audience and claims matching no policy answer byte-identical bodies; each cause is in oidc.denied; a good token leases", async () => {
    const sign = (over: Record<string, unknown> = {}, key = RSA.privateKey, kid = "rsa-1") =>
      signToken("RS256", key, { kid }, claims(over));
    const good = await sign();
    const refusals: Record<string, Response> = {
      "unknown tenant": await oidc(good, UNKNOWN_TENANT),
      "untrusted issuer": await oidc(await sign({ iss: "https://issuer.test/nobody" })),
      "unparseable token": await oidc("not.a.jwt"),
      "bad signature": await oidc(await sign({}, ATTACKER_RSA.privateKey)),
      "unknown kid": await oidc(await sign({}, RSA.privateKey, "rsa-9")),
      expired: await oidc(await sign({ exp: NOW - 120, iat: NOW - 600, nbf: NOW - 600 })),
      "wrong audience": await oidc(await sign({ aud: "https://elsewhere.example" })),
      "claims matching no policy": await oidc(await sign({ repository_owner: "evil", repository: "evil/api" })),
    };
    const seen = new Set<string>();
    for (const [cause, res] of Object.entries(refusals)) {
      expect(res.status, cause).toBe(401);
      seen.add(await observable(res));
    }
    expect(seen.size, [...seen].join("\n")).toBe(1);
    const causes = (await deniedCauses("oidc.denied")).join("\n");
    for (const detail of [/issuer/, /unknown_kid/, /claims/, /exp/]) expect(causes).toMatch(detail);
    expect(await deniedCauses("oidc.denied")).toHaveLength(Object.keys(refusals).length - 1); // the unknown tenant has no log
    // Positive control: the good token leases.
    const granted = await expectStatus<{ leases: { value: string }[] }>(await oidc(good), 201);
    expect(granted.leases[0]!.value).toBe("opaque-canary");
  });

  it("POST /v1/ci/webhooks/…: unknown tenant, unknown webhook, bad signature, stale, missing headers and replay answer byte-identical bodies (the same as the OIDC route's); each cause is in webhook.denied; a signed request leases", async () => {
    const replayedTs = NOW;
    const replayedBody = JSON.stringify({ credentials: ["deploy/key"], purpose: "replay" });
    const replayedSig = await signWebhook(secret, replayedTs, replayedBody);
    await expectStatus(await hook({ ts: replayedTs, body: replayedBody, signature: replayedSig }), 201);
    const before = (await deniedCauses("webhook.denied")).length;
    const refusals: Record<string, Response> = {
      "unknown tenant": await hook({ tenant: UNKNOWN_TENANT }),
      "unknown webhook": await hook({ name: "nobody" }),
      "bad signature": await hook({ key: "00".repeat(32) }),
      stale: await hook({ ts: NOW - 900 }),
      "missing headers": await post(`/v1/ci/webhooks/${tenantId}/deployer/leases`, "{}"),
      replayed: await hook({ ts: replayedTs, body: replayedBody, signature: replayedSig }),
    };
    const seen = new Set<string>([await observable(await oidc("not.a.jwt"))]);
    for (const [cause, res] of Object.entries(refusals)) {
      expect(res.status, cause).toBe(401);
      seen.add(await observable(res));
    }
    expect(seen.size, [...seen].join("\n")).toBe(1);
    const causes = (await deniedCauses("webhook.denied")).slice(before);
    expect(causes).toHaveLength(Object.keys(refusals).length - 1);
    for (const detail of ["no webhook of this name", "bad_signature", "replayed"])
      expect(causes.join("\n")).toContain(detail);
    const granted = await expectStatus<{ leases: { value: string }[] }>(await hook(), 201);
    expect(granted.leases[0]!.value).toBe("opaque-canary");
  });

  it("a webhook request sent as text/plain gets 415 and a webhook.denied entry; an unknown tenant gets the same 415; the JSON request succeeds", async () => {
    const before = (await deniedCauses("webhook.denied")).length;
    const known = await hook({ type: "text/plain" });
    const unknown = await hook({ type: "text/plain", tenant: UNKNOWN_TENANT });
    expect(known.status).toBe(415);
    expect(await observable(known)).toBe(await observable(unknown));
    const causes = await deniedCauses("webhook.denied");
    expect(causes).toHaveLength(before + 1);
    expect(causes.at(-1)).toContain("text/plain");
    await expectStatus(await hook(), 201);
  });
});

describe("per-tenant limit on the CI entry points", { timeout: 120_000 }, () => {
  it("past the limit (60 a minute in tests) a tenant's CI route answers 429, known or not; another tenant's is unaffected", async () => {
    const flooded = "fedcba9876543210fedc";
    const ask = (tenant: string) =>
      post("/v1/ci/leases", JSON.stringify({ tenant_id: tenant, token: "not.a.jwt", credentials: ["x"] }));
    for (let i = 0; i < 60; i++) expect((await ask(flooded)).status).toBe(401);
    const limited = await ask(flooded);
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("60");
    expect((await post(`/v1/ci/webhooks/${flooded}/any/leases`, "{}")).status).toBe(429);
    // Positive control: another tenant id is still answered by its vault.
    expect((await ask("00000000000000000abc")).status).toBe(401);
  });

  it("fails closed: a failing limiter answers 503 and the vault is not asked; with the real limiter the same request reaches the vault", async () => {
    const request = () =>
      new Request(`${BASE}/v1/ci/leases`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ tenant_id: "0000000000000000def0", token: "not.a.jwt", credentials: ["x"] }),
      });
    const failing = { limit: async () => Promise.reject(new Error("limiter down")) };
    const down = await worker.fetch(request(), { ...env, CI_RATE_LIMITER: failing }, createExecutionContext());
    expect(down.status).toBe(503);
    expect(((await down.json()) as { error: { code: string } }).error.code).toBe("unavailable");
    expect((await worker.fetch(request(), env, createExecutionContext())).status).toBe(401);
  });
});
