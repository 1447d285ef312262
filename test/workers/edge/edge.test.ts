import { env } from "cloudflare:test";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import worker from "../../../worker/index";
import type { AppEnv } from "../../../worker/app-env";
import { onError } from "../../../worker/middleware/on-error";
import { rateLimit } from "../../../worker/middleware/rate-limit";
import { productionEnv } from "../support/production-env";
import { api, BASE, bootstrap, expectStatus, tokenWithRole, workerFetch, type ErrorBody } from "../helpers";

/**
 * The local rate limiter (miniflare) counts in fixed 60-second windows. A burst that straddles a
 * window edge would be split across two counters, so start bursts early in a window.
 */
async function startOfWindow(): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 25_000) await new Promise((resolve) => setTimeout(resolve, left + 50));
}

describe("rate limits", () => {
  it("limit one token (429 with Retry-After) while another token goes on", { timeout: 60_000 }, async () => {
    const { adminToken } = await bootstrap();
    const noisy = await tokenWithRole(adminToken, "viewer");
    const quiet = await tokenWithRole(adminToken, "viewer");
    let limited: Response | undefined;
    // Bursts of 50 (the limit is 600 a minute in tests); bounded at 700 requests.
    for (let sent = 0; sent < 700 && !limited; sent += 25) {
      const batch = await Promise.all(Array.from({ length: 25 }, () => api(noisy, "GET", "/v1/openapi.json")));
      for (const res of batch) {
        if (res.status === 429 && !limited) limited = res;
        else await res.arrayBuffer();
      }
    }
    expect(limited, "no 429 within 400 requests").toBeDefined();
    expect(limited!.headers.get("retry-after")).toBe("60");
    expect(((await limited!.json()) as ErrorBody).error.code).toBe("rate_limited");
    await expectStatus(await api(quiet, "GET", "/v1/whoami"), 200);
  });

  it("limit one client IP while another IP goes on", { timeout: 60_000 }, async () => {
    const hit = (ip: string) => workerFetch(`${BASE}/v1/whoami`, { headers: { "cf-connecting-ip": ip } });
    let limited = false;
    await startOfWindow();
    for (let sent = 0; sent < 50 && !limited; sent += 25) {
      const batch = await Promise.all(Array.from({ length: 25 }, () => hit("203.0.113.7")));
      for (const res of batch) {
        await res.arrayBuffer();
        limited ||= res.status === 429;
      }
    }
    expect(limited).toBe(true);
    // Another IP is not limited (401: no token, but past the limiter).
    expect((await hit("203.0.113.8")).status).toBe(401);
  });

  it("fail closed when the limiter itself fails", async () => {
    const failing = { limit: async () => Promise.reject(new Error("limiter down")) };
    const app = new Hono<AppEnv>();
    app.use(async (c, next) => (c.set("requestId", "t"), next()));
    app.use(rateLimit(() => ({ token: failing, ip: failing, periodSeconds: 60 })));
    app.get("/x", (c) => c.text("reached"));
    app.onError(onError);
    const res = await app.request("/x", { headers: { authorization: "Bearer x" } });
    expect(res.status).toBe(503);
    // Positive control: a working limiter lets the same request through.
    const ok = new Hono<AppEnv>();
    ok.use(rateLimit(() => ({ token: { limit: async () => ({ success: true }) }, ip: failing, periodSeconds: 60 })));
    ok.get("/x", (c) => c.text("reached"));
    expect(await (await ok.request("/x", { headers: { authorization: "Bearer x" } })).text()).toBe("reached");
  });
});

describe("production edge", () => {
  const production = () => productionEnv();
  const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
  // As Cloudflare's edge sends it: `cf.tlsVersion` of the client's connection (TLS 1.3 unless a test says otherwise).
  const call = (url: string, e: Env, tlsVersion: string | null = "TLSv1.3") =>
    worker.fetch(new Request(url, tlsVersion === null ? {} : { cf: { tlsVersion } }), e, ctx);

  it("refuses plain http with a clear error and sets HSTS; https passes", async () => {
    const refused = await call("http://vault.example/v1/health", production());
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as ErrorBody).error.code).toBe("https_required");
    expect(refused.headers.get("strict-transport-security")).toContain("max-age=");
    const ok = await call("https://vault.example/v1/health", production());
    expect(ok.status).toBe(200);
    expect(ok.headers.get("strict-transport-security")).toContain("max-age=");
  });

  it("refuses TLS below 1.3 and requests without TLS facts (403 tls_version_unsupported); TLS 1.3 passes", async () => {
    for (const version of ["TLSv1.2", "TLSv1.1", "TLSv1", null]) {
      const refused = await call("https://vault.example/v1/health", production(), version);
      expect(refused.status, String(version)).toBe(403);
      expect(((await refused.json()) as ErrorBody).error.code).toBe("tls_version_unsupported");
    }
    expect((await call("https://vault.example/v1/health", production(), "TLSv1.3")).status).toBe(200);
    // Outside production (development, tests) the local server has no edge in front: not checked.
    expect((await call("https://vault.example/v1/health", env, "TLSv1.2")).status).toBe(200);
  });

  it("refuses to run against the KMS emulator or with bench paths on", async () => {
    const withEmulator = { ...production(), KMS_EMULATOR: env.KMS_EMULATOR } as Env;
    expect(((await (await call("https://vault.example/v1/health", withEmulator)).json()) as ErrorBody).error.code).toBe(
      "misconfigured",
    );
    const bench = { ...production(), TEST_HOOKS: "true" } as unknown as Env;
    expect((await call("https://vault.example/v1/health", bench)).status).toBe(503);
  });

  it("marks every API response no-store, nosniff and frame-deny", async () => {
    const res = await workerFetch(`${BASE}/v1/health`);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
  });
});
