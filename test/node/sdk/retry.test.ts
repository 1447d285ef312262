import { afterEach, describe, expect, it } from "vitest";
import { parseRetryAfter, VaultClient, VaultError } from "../../../sdk/index";
import { errorBody, startScriptedServer, type ScriptedAnswer, type ScriptedServer } from "../support/scripted-server";

/**
 * Retry behaviour against a local node:http server that fails a set number of times, then
 * answers 200. `sleep` is injected: the delays asked for are recorded, not waited.
 */

const WHOAMI = {
  tenant_id: "t",
  token_id: `tok_${"a".repeat(24)}`,
  kind: "api",
  identity: "user:a@b",
  role: "admin",
  expires_at: null,
};
const servers: ScriptedServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A server failing `failures` times with `fail`, then answering `ok`; and a client with recorded sleeps. */
async function setup(failures: number, fail: ScriptedAnswer, ok: ScriptedAnswer = { status: 200, body: WHOAMI }) {
  const server = await startScriptedServer((n) => (n < failures ? fail : ok));
  servers.push(server);
  const sleeps: number[] = [];
  const client = new VaultClient({
    url: server.url,
    token: "gv_api_t_x",
    retry: {
      maxRetries: 3,
      baseDelayMs: 100,
      maxDelayMs: 1000,
      random: () => 0.5,
      sleep: async (ms) => void sleeps.push(ms),
    },
  });
  return { server, client, sleeps };
}

describe("retries", () => {
  it("retries a GET on 503 with jittered exponential backoff, then succeeds", async () => {
    const { server, client, sleeps } = await setup(2, errorBody("unavailable", 503));
    expect((await client.whoami()).role).toBe("admin");
    expect(server.requests).toHaveLength(3);
    expect(sleeps).toEqual([50, 100]); // random 0.5 × min(1000, 100 × 2^n)
  });

  it("honours Retry-After in seconds and as an HTTP date on 429", async () => {
    const seconds = await setup(1, { ...errorBody("rate_limited", 429), headers: { "retry-after": "2" } });
    await seconds.client.whoami();
    expect(seconds.server.requests).toHaveLength(2);
    expect(seconds.sleeps).toEqual([2000]);
    const date = new Date(Date.now() + 3000).toUTCString();
    const dated = await setup(1, { ...errorBody("rate_limited", 429), headers: { "retry-after": date } });
    await dated.client.whoami();
    expect(dated.sleeps[0]).toBeGreaterThan(1000);
    expect(dated.sleeps[0]).toBeLessThanOrEqual(3000);
  });

  it("gives up after maxRetries with the last error, and on a Retry-After beyond maxRetryAfterMs", async () => {
    const { server, client } = await setup(10, errorBody("unavailable", 503));
    await expect(client.whoami()).rejects.toMatchObject({ code: "unavailable", status: 503, requestId: "req-503" });
    expect(server.requests).toHaveLength(4);
    const long = await setup(10, { ...errorBody("rate_limited", 429), headers: { "retry-after": "3600" } });
    await expect(long.client.whoami()).rejects.toMatchObject({ code: "rate_limited", retryAfterMs: 3_600_000 });
    expect(long.server.requests).toHaveLength(1);
  });

  it("never retries 400 or 404", async () => {
    for (const [code, status] of [
      ["validation_failed", 400],
      ["not_found", 404],
    ] as const) {
      const { server, client, sleeps } = await setup(10, errorBody(code, status));
      await expect(client.credentials.get("x")).rejects.toMatchObject({ code, status });
      expect(server.requests).toHaveLength(1);
      expect(sleeps).toEqual([]);
    }
  });

  it("does not retry a POST without an idempotency key; retries one with a key, sending the header", async () => {
    const without = await setup(1, errorBody("unavailable", 503));
    await expect(without.client.credentials.create({ name: "a", value: "v" })).rejects.toMatchObject({ status: 503 });
    expect(without.server.requests).toHaveLength(1);
    const cred = {
      id: `cred_${"b".repeat(24)}`,
      name: "a",
      description: "",
      tags: [],
      default_ttl: 60,
      max_ttl: 60,
      current_version: 1,
      created_at: new Date().toISOString(),
      updated_at: new Date().toISOString(),
      created_by: "user:a@b",
    };
    const withKey = await setup(1, errorBody("unavailable", 503), { status: 201, body: cred });
    expect((await withKey.client.credentials.create({ name: "a", value: "v" }, { idempotencyKey: "k-1" })).id).toBe(
      cred.id,
    );
    expect(withKey.server.requests.map((r) => r.headers["idempotency-key"])).toEqual(["k-1", "k-1"]);
  });

  it("retries DELETE (idempotent) on 503", async () => {
    const { server, client } = await setup(1, errorBody("unavailable", 503), { status: 204 });
    await client.tokens.revoke(`tok_${"c".repeat(24)}`);
    expect(server.requests.map((r) => r.method)).toEqual(["DELETE", "DELETE"]);
  });

  it("turns connection failures into network_error (status 0) and retries them", async () => {
    const { server } = await setup(0, errorBody("unavailable", 503));
    const url = server.url;
    await server.close();
    servers.length = 0;
    const sleeps: number[] = [];
    const client = new VaultClient({ url, retry: { maxRetries: 2, sleep: async (ms) => void sleeps.push(ms) } });
    const error = await client.health().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VaultError);
    expect(error).toMatchObject({ code: "network_error", status: 0 });
    expect(sleeps).toHaveLength(2);
  });

  it("reports a non-API error body as http_error and a wrong answer shape as invalid_response", async () => {
    const proxy = await setup(0, { status: 502 }, { status: 502, body: "<html>bad gateway</html>" });
    await expect(proxy.client.whoami()).rejects.toMatchObject({ code: "http_error", status: 502 });
    const odd = await setup(0, { status: 200 }, { status: 200, body: { role: "emperor" } });
    await expect(odd.client.whoami()).rejects.toMatchObject({ code: "invalid_response", status: 200 });
  });

  it("parses Retry-After per RFC 9110", () => {
    expect(parseRetryAfter("5")).toBe(5000);
    expect(parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", Date.parse("Wed, 21 Oct 2015 07:27:00 GMT"))).toBe(60_000);
    expect(parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", Date.parse("Wed, 21 Oct 2015 07:29:00 GMT"))).toBe(0);
    expect(parseRetryAfter("soon")).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });
});
