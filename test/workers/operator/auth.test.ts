import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../../worker/index";
import { loadConfig } from "../../../worker/contract/config";
import { VaultError } from "../../../worker/contract/errors";
import { BASE, api, bootstrap, expectStatus, type ErrorBody } from "../helpers";
import { productionEnv } from "../support/production-env";
import { OPERATOR_ROUTES } from "../../../worker/routes/operator";
import { namedOperator, op, ROOT } from "./helpers";

/**
 * Issue 13 §3: operators authenticate apart from tenants. A tenant token never opens
 * /v1/operator/*, an operator token never opens a tenant route; failures look alike and are
 * rate limited; only the root token manages named tokens. Every refusal has its control beside it.
 */

const whoami = (token: string | null, headers: Record<string, string> = {}) =>
  worker.fetch(
    new Request(`${BASE}/v1/operator/whoami`, {
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    }),
    env,
    createExecutionContext(),
  );

describe("operator authentication", () => {
  it("the root operator token opens the plane; a tenant admin token does not, with the same answer as no token", async () => {
    expect(await expectStatus(await op("GET", "/whoami"), 200)).toEqual({
      operator: "operator:root",
      token_id: "root",
    });
    const { adminToken } = await bootstrap("op-auth");
    const tenant = await expectStatus<ErrorBody>(await op("GET", "/whoami", undefined, adminToken), 401);
    const none = await expectStatus<ErrorBody>(await op("GET", "/whoami", undefined, null), 401);
    expect(tenant.error.message).toBe(none.error.message);
    // Nor any other operator route, and bad input from a tenant learns 401, not the schema.
    await expectStatus(await op("POST", "/jobs", { kind: "nope" }, adminToken), 401);
    await expectStatus(await op("GET", "/tenants", undefined, adminToken), 401);
  });

  it("an operator token never opens a tenant route; the tenant's own token does", async () => {
    const { adminToken } = await bootstrap("op-auth-2");
    await expectStatus(await api(adminToken, "GET", "/v1/whoami"), 200);
    await expectStatus(await api(ROOT, "GET", "/v1/whoami"), 401);
    await expectStatus(await api(ROOT, "GET", "/v1/credentials"), 401);
    const named = await namedOperator("tenant-route-probe");
    await expectStatus(await api(named.token, "GET", "/v1/whoami"), 401);
  });

  it("a wrong root token, an unknown named token and a tenant-shaped token get the same 401", async () => {
    const wrongRoot = `gvop_root_${"1".repeat(64)}`;
    const unknownNamed = `gvop_${"a".repeat(20)}_${"2".repeat(64)}`;
    const bodies = [];
    for (const t of [wrongRoot, unknownNamed, `gv_api_${"0".repeat(20)}_${"3".repeat(64)}`, "garbage"]) {
      bodies.push((await expectStatus<ErrorBody>(await op("GET", "/whoami", undefined, t), 401)).error.message);
    }
    expect(new Set(bodies).size).toBe(1);
    await expectStatus(await op("GET", "/whoami"), 200);
  });

  it("named tokens: minted by root, act as operator:<name>, cannot mint, die when revoked or expired", async () => {
    const alice = await namedOperator("alice");
    expect(alice.token).toMatch(/^gvop_[0-9a-f]{20}_[0-9a-f]{64}$/);
    expect(await expectStatus(await op("GET", "/whoami", undefined, alice.token), 200)).toEqual({
      operator: "operator:alice",
      token_id: alice.id,
    });
    // Only root manages tokens: a named token cannot mint its equal or revoke another.
    await expectStatus(await op("POST", "/tokens", { name: "mallory", expires_in: "1h" }, alice.token), 403);
    const bob = await namedOperator("bob");
    await expectStatus(await op("DELETE", `/tokens/${bob.id}`, undefined, alice.token), 403);
    await expectStatus(await op("GET", "/whoami", undefined, bob.token), 200);
    // Root revokes: refused at once.
    await expectStatus(await op("DELETE", `/tokens/${alice.id}`), 200);
    await expectStatus(await op("GET", "/whoami", undefined, alice.token), 401);
    const listed = await expectStatus<{ items: { id: string; revoked_at: string | null }[] }>(
      await op("GET", "/tokens"),
      200,
    );
    expect(listed.items.find((t) => t.id === alice.id)?.revoked_at).not.toBeNull();
    expect(JSON.stringify(listed)).not.toContain(alice.token);
    // Expired: a one-second token, used after it lapsed.
    const brief = await namedOperator("brief", 1);
    await new Promise((r) => setTimeout(r, 1100));
    await expectStatus(await op("GET", "/whoami", undefined, brief.token), 401);
    await expectStatus(await op("GET", "/whoami", undefined, bob.token), 200);
  });

  it("bad input to mint is a 400 naming the field, and creates nothing", async () => {
    const before = (await expectStatus<{ items: unknown[] }>(await op("GET", "/tokens"), 200)).items.length;
    for (const body of [
      { name: "root", expires_in: "1h" },
      { name: "Bad Name", expires_in: "1h" },
      { name: "ok", expires_in: "91d" },
      { name: "ok" },
    ]) {
      const res = await expectStatus<ErrorBody>(await op("POST", "/tokens", body), 400);
      expect(res.error.code).toBe("validation_failed");
    }
    expect((await expectStatus<{ items: unknown[] }>(await op("GET", "/tokens"), 200)).items.length).toBe(before);
  });

  it("failed operator authentication is rate limited per client IP; another IP and the right token still pass", async () => {
    const ip = `198.51.100.${Math.floor(Math.random() * 250) + 1}`;
    const bad = `gvop_root_${"9".repeat(64)}`;
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) {
      const ctx = createExecutionContext();
      const res = await worker.fetch(
        new Request(`${BASE}/v1/operator/whoami`, {
          headers: { authorization: `Bearer ${bad}`, "cf-connecting-ip": ip },
        }),
        env,
        ctx,
      );
      await waitOnExecutionContext(ctx);
      statuses.push(res.status);
      await res.arrayBuffer();
    }
    // OPERATOR_AUTH_LIMITER allows 10 failures a minute per IP (vitest.config.ts, as wrangler.toml).
    expect(statuses.slice(0, 10).every((s) => s === 401)).toBe(true);
    expect(statuses[10]).toBe(429);
    const other = await whoami(bad, { "cf-connecting-ip": "203.0.113.9" });
    expect(other.status).toBe(401);
    const good = await whoami(ROOT, { "cf-connecting-ip": ip });
    expect(good.status).toBe(200);
  });

  it("a disabled plane refuses every token alike; enabled in production it needs a strong hash", async () => {
    const disabled = { ...env, OPERATOR_PLANE_ENABLED: "false" } as Env;
    const res = await worker.fetch(
      new Request(`${BASE}/v1/operator/whoami`, { headers: { authorization: `Bearer ${ROOT}` } }),
      disabled,
      createExecutionContext(),
    );
    expect(res.status).toBe(401);
    // Production: off is fine without a hash; on refuses a missing hash and the published test token's.
    expect(loadConfig(productionEnv()).OPERATOR_PLANE_ENABLED).toBe(false);
    expect(() => loadConfig(productionEnv({ OPERATOR_PLANE_ENABLED: "true" }))).toThrow(VaultError);
    expect(() =>
      loadConfig(productionEnv({ OPERATOR_PLANE_ENABLED: "true", OPERATOR_TOKEN_HASH: env.OPERATOR_TOKEN_HASH })),
    ).toThrow(VaultError);
    expect(
      loadConfig(productionEnv({ OPERATOR_PLANE_ENABLED: "true", OPERATOR_TOKEN_HASH: "ab".repeat(32) }))
        .OPERATOR_PLANE_ENABLED,
    ).toBe(true);
    expect(() => loadConfig(productionEnv({ OPERATOR_PLANE_ENABLED: "true", OPERATOR_TOKEN_HASH: "not-hex" }))).toThrow(
      VaultError,
    );
  });

  it("token management lands in the hash-chained operator log, without the token", async () => {
    const carol = await namedOperator("carol");
    await expectStatus(await op("DELETE", `/tokens/${carol.id}`), 200);
    const log = await expectStatus<{
      items: { entry: { action: string; operator: string; details: { id?: string } } }[];
      chain: { ok: boolean };
    }>(await op("GET", "/log?limit=500"), 200);
    expect(log.chain.ok).toBe(true);
    const mine = log.items
      .filter((i) => i.entry.details.id === carol.id)
      .map((i) => `${i.entry.operator} ${i.entry.action}`);
    expect(mine).toEqual(["operator:root operator_token.created", "operator:root operator_token.revoked"]);
    expect(JSON.stringify(log)).not.toContain(carol.token);
  });

  it.each(OPERATOR_ROUTES.map((r) => [`${r.method.toUpperCase()} ${r.path}`, r] as const))(
    "%s: bad input from a tenant token or none is 401, never the schema",
    async (_label, route) => {
      const { adminToken } = await bootstrap("op-validate");
      const path = route.path.replace(/:[a-z_]+/g, "x".repeat(300)) + (route.query ? "?bogus_param=1" : "");
      for (const token of [adminToken, null, `gvop_root_${"5".repeat(64)}`]) {
        const res = await expectStatus<ErrorBody>(
          await api(token, route.method.toUpperCase(), path, route.body ? { bogus_field: 1 } : undefined),
          401,
        );
        expect(JSON.stringify(res)).not.toMatch(/bogus|path|query/);
      }
    },
  );
});
