import { abortAllDurableObjects, env } from "cloudflare:test";
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { signWebhook } from "../../../worker/core/federation/webhook-signature";
import { ALL_ROUTES } from "../../../worker/contract/operations";
import { vaultStub } from "../../../worker/routes/define";
import { NOW, NOW_MS, publicJwk, RSA, signToken } from "../federation/jwt-fixtures";
import { api, BASE, bootstrap, createCredential, expectStatus, workerFetch } from "../helpers";
import { control } from "../kms/helpers";
import { OPENAI_POLICY } from "../use/use-helpers";
import { allEntries, auditRows } from "./helpers";

const METHODS = ["log", "info", "warn", "error", "debug"] as const;
let lines: string[];

function serialise(arg: unknown): string {
  if (typeof arg === "string") return arg;
  if (arg instanceof Error) return `${arg.name}: ${arg.message}\n${arg.stack ?? ""}`;
  try {
    return JSON.stringify(arg, (_k, v: unknown) =>
      v instanceof Error ? `${v.name}: ${v.message}` : typeof v === "bigint" ? String(v) : v,
    );
  } catch {
    return String(arg);
  }
}

beforeEach(() => {
  lines = [];
  for (const m of METHODS)
    vi.spyOn(console, m).mockImplementation(
      (...args: unknown[]) => void lines.push(`${m}: ${args.map(serialise).join(" ")}`),
    );
});
afterEach(() => vi.restoreAllMocks());

it("positive control: console output of the Worker and the Durable Object is captured", async () => {
  const { tenantId, adminToken } = await bootstrap();
  await createCredential(adminToken, "db", "v");
  await abortAllDurableObjects(); // drop the cached KEK so the next lease calls the KMS
  await control("faults", { method: "POST", body: JSON.stringify({ tenantId, mode: "error" }) });
  try {
    await expectStatus(await api(adminToken, "POST", "/v1/leases", { credential: "db" }), 503);
  } finally {
    await control(`reset?tenantId=${tenantId}`, { method: "POST" });
  }
  expect(lines.some((l) => l.startsWith("warn: kms call failed"))).toBe(true);
});

it("no canary value or raw token reaches a log line or an audit entry; values leave only through lease endpoints", {
  timeout: 60_000,
}, async () => {
  const canary = `CANARY1-${crypto.randomUUID()}`;
  const canary2 = `CANARY2-${crypto.randomUUID()}`;
  const responses: { route: string; status: number; text: string }[] = [];
  const covered = new Set<string>();
  const raw = async (route: string, init: RequestInit & { token?: string | null; path: string }) => {
    covered.add(route);
    const headers = new Headers(init.headers);
    if (init.token) headers.set("authorization", `Bearer ${init.token}`);
    const res = await workerFetch(`${BASE}${init.path}`, { ...init, headers });
    const text = await res.text();
    responses.push({ route, status: res.status, text });
    return { status: res.status, text, json: <T = any>() => JSON.parse(text) as T };
  };
  /** `route` is "METHOD /template"; the call must answer `status`. */
  const call = async <T = any>(
    route: string,
    status: number,
    token: string | null,
    path: string,
    body?: unknown,
    extra: Record<string, string> = {},
  ): Promise<T> => {
    const r = await raw(route, {
      method: route.split(" ")[0],
      token,
      path,
      headers: { ...(body === undefined ? {} : { "content-type": "application/json" }), ...extra },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    expect(r.status, `${route} ${path}: ${r.text}`).toBe(status);
    return (r.text ? r.json<T>() : null) as T;
  };

  await call("GET /v1/health", 200, null, "/v1/health");
  await call("GET /v1/ready", 200, null, "/v1/ready");
  const boot = await call(
    "POST /v1/bootstrap",
    201,
    null,
    "/v1/bootstrap",
    { tenant_name: "canary", admin_identity: "user:admin@canary.test" },
    { "x-bootstrap-secret": env.BOOTSTRAP_SECRET },
  );
  const admin: string = boot.admin_token.token;
  const tenantId: string = boot.tenant.id;
  const mk = async (role: string) =>
    call<{ id: string; token: string }>("POST /v1/tokens", 201, admin, "/v1/tokens", {
      name: role,
      role,
      identity: `user:${role}@canary.test`,
    });
  const user = await mk("user");
  const viewer = await mk("viewer");
  const doomed = await mk("manager");
  const tokens = [admin, user.token, viewer.token, doomed.token];

  // Credentials, including refusals and bad requests that carry the canary in their bodies.
  const cred = await call("POST /v1/credentials", 201, admin, "/v1/credentials", {
    name: "canary-cred",
    value: canary,
    description: "holds a canary",
    tags: ["t"],
  });
  await call("POST /v1/credentials", 403, viewer.token, "/v1/credentials", { name: "viewer-try", value: canary });
  await call("POST /v1/credentials", 400, admin, "/v1/credentials", { name: "bad name !!", value: canary });
  await call("POST /v1/credentials", 400, admin, "/v1/credentials", {
    name: "extra-field",
    value: canary,
    note: canary,
  });
  await call("POST /v1/credentials", 409, admin, "/v1/credentials", { name: "canary-cred", value: canary });
  const badJson = await raw("POST /v1/credentials", {
    method: "POST",
    token: admin,
    path: "/v1/credentials",
    headers: { "content-type": "application/json" },
    body: `{"name":"x","value":"${canary}"`,
  });
  expect(badJson.status).toBe(400);
  await call("GET /v1/credentials", 200, viewer.token, "/v1/credentials");
  await call("GET /v1/credentials/:ref", 200, viewer.token, "/v1/credentials/canary-cred");
  await call("GET /v1/credentials/:ref/versions", 200, viewer.token, `/v1/credentials/${cred.id}/versions`);
  await call("GET /v1/credentials/:ref/acl", 200, admin, "/v1/credentials/canary-cred/acl");
  await call("PUT /v1/credentials/:ref/acl", 200, admin, "/v1/credentials/canary-cred/acl", {
    rules: [
      { effect: "allow", identity: "user:*" },
      { effect: "allow", identity: "ci:*" },
    ],
  });
  await call("PATCH /v1/credentials/:ref", 200, admin, "/v1/credentials/canary-cred", {
    description: "still a canary holder",
    default_ttl: "10m",
  });

  // Leases: the one place values leave.
  const first = await call("POST /v1/leases", 201, user.token, "/v1/leases", {
    credential: "canary-cred",
    ttl: "5m",
    purpose: "canary",
    agent: { name: "claude-code", model: "opus", session: "s1", tool: "bash", host: "laptop" },
  });
  expect(first.value).toBe(canary);
  await call("POST /v1/leases", 400, user.token, "/v1/leases", { credential: "canary-cred", ttl: "30d" });
  await call("POST /v1/leases", 404, user.token, "/v1/leases", { credential: "no-such" });
  await call("POST /v1/leases", 403, viewer.token, "/v1/leases", { credential: "canary-cred" });
  await call("GET /v1/leases/:id", 200, user.token, `/v1/leases/${first.lease.id}`);
  await call("GET /v1/leases", 200, user.token, "/v1/leases");
  await call("POST /v1/leases/:id/renew", 200, user.token, `/v1/leases/${first.lease.id}/renew`, { ttl: "5m" });
  await call("DELETE /v1/leases/:id", 200, user.token, `/v1/leases/${first.lease.id}`);
  await call("POST /v1/leases/:id/renew", 409, user.token, `/v1/leases/${first.lease.id}/renew`, {});

  await call("POST /v1/credentials/:ref/rotate", 200, admin, "/v1/credentials/canary-cred/rotate", { value: canary2 });
  await call("POST /v1/credentials/:ref/rotate", 400, admin, "/v1/credentials/canary-cred/rotate", {
    value: canary2,
    again: canary2,
  });
  const second = await call("POST /v1/leases", 201, user.token, "/v1/leases", { credential: cred.id });
  expect(second.value).toBe(canary2);
  // Approvals: a lease an approve rule holds carries no value (202); the one collected after approval does.
  const agent = await call<{ id: string; token: string }>("POST /v1/tokens", 201, admin, "/v1/tokens", {
    name: "agent",
    role: "user",
    identity: "agent:bot@canary.test",
  });
  tokens.push(agent.token);
  await call("PUT /v1/credentials/:ref/acl", 200, admin, "/v1/credentials/canary-cred/acl", {
    rules: [
      { effect: "allow", identity: "user:*" },
      { effect: "allow", identity: "ci:*" },
      { effect: "approve", identity: "agent:*", approvers: { role: "admin" } },
    ],
  });
  const held = await call("POST /v1/leases", 202, agent.token, "/v1/leases", {
    credential: "canary-cred",
    purpose: "canary",
  });
  await call("GET /v1/access-requests", 200, admin, "/v1/access-requests");
  await call("GET /v1/access-requests/:id", 200, agent.token, `/v1/access-requests/${held.request.id}`);
  await call("POST /v1/access-requests/:id/lease", 202, agent.token, `/v1/access-requests/${held.request.id}/lease`);
  await call(
    "POST /v1/access-requests/:id/approve",
    403,
    agent.token,
    `/v1/access-requests/${held.request.id}/approve`,
    { reason: canary2 },
  );
  await call("POST /v1/access-requests/:id/approve", 200, admin, `/v1/access-requests/${held.request.id}/approve`, {
    reason: "canary drill",
  });
  expect(
    (await call("POST /v1/access-requests/:id/lease", 201, agent.token, `/v1/access-requests/${held.request.id}/lease`))
      .value,
  ).toBe(canary2);
  await call("POST /v1/access-requests/:id/lease", 409, agent.token, `/v1/access-requests/${held.request.id}/lease`);
  const heldAgain = await call("POST /v1/leases", 202, agent.token, "/v1/leases", { credential: "canary-cred" });
  await call("POST /v1/access-requests/:id/deny", 200, admin, `/v1/access-requests/${heldAgain.request.id}/deny`, {
    reason: "canary drill",
  });
  // A KMS failure while leasing the canary: logged (capture works inside this very test), no value.
  await abortAllDurableObjects();
  await control("faults", { method: "POST", body: JSON.stringify({ tenantId, mode: "error" }) });
  try {
    await call("POST /v1/leases", 503, user.token, "/v1/leases", { credential: "canary-cred" });
  } finally {
    await control(`reset?tenantId=${tenantId}`, { method: "POST" });
  }
  expect(lines.some((l) => l.startsWith("warn: kms call failed"))).toBe(true);
  await call("POST /v1/leases/revoke", 200, admin, "/v1/leases/revoke", {
    credential: "canary-cred",
    reason: "canary drill",
  });

  // CI federation: OIDC trust and signed webhook leases also hand out values (to CI jobs).
  const issuerId = crypto.randomUUID();
  const issuer = `https://issuer.test/${issuerId}`;
  await env.OIDC_TEST_ISSUER.fetch(`https://issuer.test/__issuer/${issuerId}`, {
    method: "PUT",
    body: JSON.stringify({ jwks: { keys: [await publicJwk(RSA, "rsa-1")] } }),
  });
  await call("POST /v1/oidc/trusts", 201, admin, "/v1/oidc/trusts", {
    name: "gh",
    issuer,
    audience: "https://vault.example.com",
    conditions: { repository_owner: "acme" },
    identity_template: "ci:github:{repository}@{ref}",
    credentials: ["canary-cred"],
    max_ttl: "15m",
  });
  await call("GET /v1/oidc/trusts", 200, admin, "/v1/oidc/trusts");
  const jwt = await signToken(
    "RS256",
    RSA.privateKey,
    { kid: "rsa-1" },
    {
      iss: issuer,
      aud: "https://vault.example.com",
      sub: "repo:acme/api",
      repository: "acme/api",
      repository_owner: "acme",
      ref: "refs/heads/main",
      iat: NOW - 5,
      nbf: NOW - 5,
      exp: NOW + 300,
    },
  );
  tokens.push(jwt);
  await vaultStub(env, tenantId).setClockForTest(NOW_MS);
  try {
    const ci = await call("POST /v1/ci/leases", 201, null, "/v1/ci/leases", {
      tenant_id: tenantId,
      token: jwt,
      credentials: ["canary-cred"],
      ttl: "10m",
    });
    expect(ci.leases[0].value).toBe(canary2);
    // The job's post step gives its lease back with a fresh ID token (each token is single-use).
    const jwt2 = await signToken(
      "RS256",
      RSA.privateKey,
      { kid: "rsa-1" },
      {
        iss: issuer,
        aud: "https://vault.example.com",
        sub: "repo:acme/api",
        repository: "acme/api",
        repository_owner: "acme",
        ref: "refs/heads/main",
        jti: "revoke",
        iat: NOW - 5,
        nbf: NOW - 5,
        exp: NOW + 300,
      },
    );
    tokens.push(jwt2);
    await call("POST /v1/ci/leases/revoke", 200, null, "/v1/ci/leases/revoke", {
      tenant_id: tenantId,
      token: jwt2,
      lease_ids: [ci.leases[0].lease.id],
    });
    await call("POST /v1/ci/leases", 401, null, "/v1/ci/leases", {
      tenant_id: tenantId,
      token: `${jwt.slice(0, -2)}AA`,
      credentials: ["canary-cred"],
    });
  } finally {
    await vaultStub(env, tenantId).setClockForTest(null);
  }
  await call("DELETE /v1/oidc/trusts/:ref", 204, admin, "/v1/oidc/trusts/gh");
  const hook = await call("POST /v1/webhooks", 201, admin, "/v1/webhooks", {
    name: "jenkins",
    credentials: ["canary-cred"],
    max_ttl: "10m",
  });
  tokens.push(hook.secret);
  await call("GET /v1/webhooks", 200, admin, "/v1/webhooks");
  const hookBody = JSON.stringify({ credentials: ["canary-cred"], ttl: "5m" });
  const hookSend = async (status: number, secret: string) => {
    const ts = Math.floor(Date.now() / 1000);
    const r = await raw("POST /v1/ci/webhooks/:tenant/:name/leases", {
      method: "POST",
      path: `/v1/ci/webhooks/${tenantId}/jenkins/leases`,
      headers: {
        "content-type": "application/json",
        "x-vault-timestamp": String(ts),
        "x-vault-signature": await signWebhook(secret, ts, hookBody),
      },
      body: hookBody,
    });
    expect(r.status, r.text).toBe(status);
    return r.json();
  };
  expect((await hookSend(201, hook.secret)).leases[0].value).toBe(canary2);
  await hookSend(401, "00".repeat(32));
  await call("DELETE /v1/webhooks/:ref", 204, admin, "/v1/webhooks/jenkins");

  // Use without possession: the vault calls an upstream with the value injected; the test upstream
  // echoes it back raw and encoded, and the answer must come back scrubbed.
  await call("PUT /v1/teams/:name", 200, admin, "/v1/teams/canary-team", { members: ["user:*@canary.test"] });
  await call("GET /v1/teams", 200, admin, "/v1/teams");
  await call(
    "GET /v1/credentials/:ref/acl/check",
    200,
    admin,
    "/v1/credentials/canary-cred/acl/check?identity=user:user@canary.test&permission=use",
  );
  await call("PUT /v1/credentials/:ref/use", 200, admin, "/v1/credentials/canary-cred/use", OPENAI_POLICY);
  await call("GET /v1/credentials/:ref/use", 200, viewer.token, "/v1/credentials/canary-cred/use");
  const used = await call("POST /v1/credentials/:ref/use", 200, user.token, "/v1/credentials/canary-cred/use", {
    method: "GET",
    url: "https://api.example.com/v1/leak",
    purpose: "canary",
  });
  expect(used.scrubbed).toBe(true);
  await call("POST /v1/credentials/:ref/use", 403, viewer.token, "/v1/credentials/canary-cred/use", {
    method: "GET",
    url: "https://api.example.com/v1/leak",
  });
  await call("DELETE /v1/credentials/:ref/use", 204, admin, "/v1/credentials/canary-cred/use");
  await call("DELETE /v1/teams/:name", 204, admin, "/v1/teams/canary-team");

  // Tokens and sessions, and authentication failures.
  await call("GET /v1/whoami", 200, user.token, "/v1/whoami");
  await call("GET /v1/tokens", 200, admin, "/v1/tokens");
  await call("GET /v1/tokens/:id", 200, admin, `/v1/tokens/${doomed.id}`);
  const session = await call<{ id: string; token: string }>("POST /v1/sessions", 201, user.token, "/v1/sessions", {
    ttl: "10m",
  });
  tokens.push(session.token);
  await call("DELETE /v1/sessions/:id", 204, user.token, `/v1/sessions/${session.id}`);
  await call("DELETE /v1/tokens/:id", 204, admin, `/v1/tokens/${doomed.id}`);
  await call("GET /v1/whoami", 401, doomed.token, "/v1/whoami");
  const flipped = `${user.token.slice(0, -1)}${user.token.endsWith("0") ? "1" : "0"}`;
  tokens.push(flipped);
  await call("GET /v1/whoami", 401, flipped, "/v1/whoami");
  await call("GET /v1/audit", 403, user.token, "/v1/audit");

  // Audit, incident and admin.
  await call("GET /v1/audit", 200, admin, "/v1/audit?limit=5");
  await call("GET /v1/audit/verify", 200, admin, "/v1/audit/verify");
  await call("GET /v1/audit/checkpoints", 200, admin, "/v1/audit/checkpoints");
  await call("GET /v1/audit/proof/inclusion", 200, admin, "/v1/audit/proof/inclusion?seq=1");
  await call("GET /v1/audit/proof/consistency", 200, admin, "/v1/audit/proof/consistency?old=1");
  await call("GET /v1/audit/public-key", 200, null, "/v1/audit/public-key");
  await call(
    "GET /v1/incident/impact",
    200,
    admin,
    `/v1/incident/impact?from=${new Date(Date.now() - 3600_000).toISOString()}&to=${new Date(Date.now() + 60_000).toISOString()}`,
  );
  await call("GET /v1/admin/kek", 200, admin, "/v1/admin/kek");
  await call("POST /v1/admin/kek/rotate", 202, admin, "/v1/admin/kek/rotate");
  await call("DELETE /v1/credentials/:ref", 204, admin, "/v1/credentials/canary-cred");
  await call("POST /v1/leases", 404, user.token, "/v1/leases", { credential: cred.id });
  await call("GET /v1/openapi.json", 200, null, "/v1/openapi.json");
  const exported = (await raw("GET /v1/audit/export", { method: "GET", token: admin, path: "/v1/audit/export" })).text;

  // Every route that exists was exercised.
  const missing = ALL_ROUTES.map((r) => `${r.method.toUpperCase()} ${r.path}`).filter((k) => !covered.has(k));
  expect(missing).toEqual([]);

  // Values appear only in lease answers (and there, as the positive controls show).
  const carrying = responses.filter((r) => r.text.includes(canary) || r.text.includes(canary2));
  expect(carrying.map((r) => `${r.route} ${r.status}`)).toEqual([
    "POST /v1/leases 201",
    "POST /v1/leases 201",
    "POST /v1/access-requests/:id/lease 201",
    "POST /v1/ci/leases 201",
    "POST /v1/ci/webhooks/:tenant/:name/leases 201",
  ]);

  // Nothing secret in any audit entry (query API, export, storage) or any captured log line.
  const entries = JSON.stringify(await allEntries(admin));
  const stored = JSON.stringify(await auditRows(tenantId));
  expect(entries).toContain("lease.created"); // the searched text is the real log
  expect(exported).toContain('"kind":"entry"');
  for (const secret of [canary, canary2, ...tokens]) {
    expect(entries).not.toContain(secret);
    expect(exported).not.toContain(secret);
    expect(stored).not.toContain(secret);
    expect(lines.filter((l) => l.includes(secret))).toEqual([]);
  }
});
