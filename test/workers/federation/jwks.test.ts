/**
 * JwksCache and discovery with a fake `fetch` (a plain function answering from a table, counting
 * calls) and an injected clock. Each test builds its own issuer and clock.
 */
import { describe, expect, it } from "vitest";
import {
  discoverJwksUri,
  fetchJwks,
  JwksCache,
  type FetchFn,
  type JwksResult,
} from "../../../worker/core/federation/jwks";
import { verifyJwt } from "../../../worker/core/federation/jwt";
import { AUDIENCE, EC, ISSUER, JWKS_DOC, NOW_MS, githubClaims, publicJwk, signToken } from "./jwt-fixtures";

const JWKS_URI = "https://token.actions.githubusercontent.com/.well-known/jwks";

type Route = () => Response | Promise<Response>;

/** A fake issuer: answers from `routes` (mutable per test), 404 otherwise, and records each request. */
function fakeIssuer(routes: Record<string, Route>) {
  const calls: string[] = [];
  const fetch: FetchFn = async (input) => {
    calls.push(input);
    const route = routes[input];
    return route ? route() : new Response("not found", { status: 404 });
  };
  return { fetch, calls, routes };
}

const json =
  (value: unknown, status = 200) =>
  () =>
    new Response(JSON.stringify(value), { status });

function clock(start = NOW_MS) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

const kids = (r: JwksResult) => (r.ok ? r.jwks.keys.map((k) => k.kid) : r.error.code);

describe("JwksCache.get", () => {
  it("serves a fetched set until ttlMs, then refetches", async () => {
    const issuer = fakeIssuer({ [JWKS_URI]: json(JWKS_DOC) });
    const c = clock();
    const cache = new JwksCache({ fetch: issuer.fetch, now: c.now, ttlMs: 600_000 });
    expect(kids(await cache.get(JWKS_URI))).toEqual(["rsa-1", "ec-1"]);
    c.advance(599_999);
    expect(kids(await cache.get(JWKS_URI))).toEqual(["rsa-1", "ec-1"]);
    expect(issuer.calls).toHaveLength(1);
    issuer.routes[JWKS_URI] = json({ keys: [JWKS_DOC.keys[1]] });
    c.advance(1);
    expect(kids(await cache.get(JWKS_URI))).toEqual(["ec-1"]);
    expect(issuer.calls).toHaveLength(2);
  });

  it("never serves a set older than ttlMs, even when the refetch fails", async () => {
    const issuer = fakeIssuer({ [JWKS_URI]: json(JWKS_DOC) });
    const c = clock();
    const cache = new JwksCache({ fetch: issuer.fetch, now: c.now, ttlMs: 1_000 });
    expect((await cache.get(JWKS_URI)).ok).toBe(true);
    issuer.routes[JWKS_URI] = json({ error: "down" }, 503);
    c.advance(1_000);
    expect(kids(await cache.get(JWKS_URI))).toBe("http_status");
  });

  it("shares one fetch between concurrent misses", async () => {
    const issuer = fakeIssuer({ [JWKS_URI]: json(JWKS_DOC) });
    const cache = new JwksCache({ fetch: issuer.fetch, now: clock().now });
    const results = await Promise.all([cache.get(JWKS_URI), cache.get(JWKS_URI), cache.get(JWKS_URI)]);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(issuer.calls).toHaveLength(1);
  });

  it("forgets the least recently used URI beyond maxEntries", async () => {
    const uris = ["https://a.example/jwks", "https://b.example/jwks", "https://c.example/jwks"];
    const issuer = fakeIssuer(Object.fromEntries(uris.map((u) => [u, json(JWKS_DOC)])));
    const cache = new JwksCache({ fetch: issuer.fetch, now: clock().now, maxEntries: 2 });
    for (const u of uris) await cache.get(u);
    await cache.get(uris[2]!);
    await cache.get(uris[0]!);
    expect(issuer.calls).toEqual([...uris, uris[0]]);
  });

  it("refuses bad configuration", () => {
    const fetch: FetchFn = async () => new Response();
    expect(() => new JwksCache({ fetch, ttlMs: 0 })).toThrow(RangeError);
    expect(() => new JwksCache({ fetch, ttlMs: 2 * 86_400_000 })).toThrow(RangeError);
    expect(() => new JwksCache({ fetch, minRefetchMs: -1 })).toThrow(RangeError);
  });
});

describe("JwksCache.refreshForUnknownKid", () => {
  it("refetches at most once per minRefetchMs, counting TTL fetches and failures", async () => {
    const issuer = fakeIssuer({ [JWKS_URI]: json(JWKS_DOC) });
    const c = clock();
    const cache = new JwksCache({ fetch: issuer.fetch, now: c.now, minRefetchMs: 60_000 });
    await cache.get(JWKS_URI);
    c.advance(59_999);
    expect(await cache.refreshForUnknownKid(JWKS_URI)).toBe(false);
    expect(issuer.calls).toHaveLength(1);
    c.advance(1);
    expect(await cache.refreshForUnknownKid(JWKS_URI)).toBe(true);
    expect(await cache.refreshForUnknownKid(JWKS_URI)).toBe(false);
    expect(issuer.calls).toHaveLength(2);

    issuer.routes[JWKS_URI] = () => Promise.reject(new Error("connection reset"));
    c.advance(60_000);
    expect(await cache.refreshForUnknownKid(JWKS_URI)).toBe(false); // attempted, failed
    c.advance(30_000);
    expect(await cache.refreshForUnknownKid(JWKS_URI)).toBe(false); // rate limited
    expect(issuer.calls).toHaveLength(3);
    // The set fetched earlier is still within its TTL and still served.
    expect(kids(await cache.get(JWKS_URI))).toEqual(["rsa-1", "ec-1"]);
  });

  it("picks up a rotated key: unknown_kid, one refresh, then accepted", async () => {
    const rotated = { keys: [...JWKS_DOC.keys, await publicJwk(EC, "ec-2", { alg: "ES256" })] };
    const issuer = fakeIssuer({ [JWKS_URI]: json(JWKS_DOC) });
    const c = clock();
    const cache = new JwksCache({ fetch: issuer.fetch, now: c.now });
    const token = await signToken("ES256", EC.privateKey, { kid: "ec-2" }, githubClaims());
    const verify = async () => {
      const keys = await cache.get(JWKS_URI);
      if (!keys.ok) throw new Error(keys.error.message);
      const r = await verifyJwt(token, { keys: keys.jwks, issuer: ISSUER, audience: AUDIENCE, now: NOW_MS });
      return r.ok ? "accepted" : r.reason;
    };
    expect(await verify()).toBe("unknown_kid");
    issuer.routes[JWKS_URI] = json(rotated);
    c.advance(60_000);
    expect(await cache.refreshForUnknownKid(JWKS_URI)).toBe(true);
    expect(await verify()).toBe("accepted");
  });
});

describe("fetchJwks failures are typed, never thrown", () => {
  const cases: [string, Route, string][] = [
    ["network error", () => Promise.reject(new TypeError("fetch failed")), "fetch_failed"],
    ["500", json({}, 500), "http_status"],
    [
      "redirect",
      () => new Response(null, { status: 302, headers: { location: "https://evil.example/jwks" } }),
      "http_status",
    ],
    ["not JSON", () => new Response("<html>"), "not_json"],
    ["no keys member", json({ kids: [] }), "invalid_document"],
    ["keys not an array", json({ keys: {} }), "invalid_document"],
    ["too many keys", json({ keys: Array.from({ length: 65 }, () => JWKS_DOC.keys[0]) }), "invalid_document"],
    ["too large", () => new Response(" ".repeat(70_000) + "{}"), "too_large"],
  ];
  it.for(cases)("%s", async ([, route, code]) => {
    expect(kids(await fetchJwks(JWKS_URI, fakeIssuer({ [JWKS_URI]: route }).fetch))).toBe(code);
    expect(kids(await fetchJwks(JWKS_URI, fakeIssuer({ [JWKS_URI]: json(JWKS_DOC) }).fetch))).toEqual([
      "rsa-1",
      "ec-1",
    ]);
  });

  it("drops malformed entries and keeps the rest (RFC 7517 §5)", async () => {
    const doc = { keys: [{ kty: "RSA", kid: "bad", n: 12 }, { kid: "no-kty" }, JWKS_DOC.keys[1]] };
    expect(kids(await fetchJwks(JWKS_URI, fakeIssuer({ [JWKS_URI]: json(doc) }).fetch))).toEqual(["ec-1"]);
  });

  it("refuses http unless allowInsecure", async () => {
    const uri = "http://127.0.0.1:8787/jwks";
    const issuer = fakeIssuer({ [uri]: json(JWKS_DOC) });
    expect(kids(await fetchJwks(uri, issuer.fetch))).toBe("insecure_uri");
    expect(issuer.calls).toHaveLength(0);
    expect(kids(await fetchJwks(uri, issuer.fetch, { allowInsecure: true }))).toEqual(["rsa-1", "ec-1"]);
    expect(kids(await fetchJwks("not a url", issuer.fetch))).toBe("insecure_uri");
  });
});

describe("discoverJwksUri", () => {
  const CONFIG = `${ISSUER}/.well-known/openid-configuration`;
  const doc = (over: Record<string, unknown> = {}) => json({ issuer: ISSUER, jwks_uri: JWKS_URI, ...over });
  const discover = async (route: Route, issuer = ISSUER, allowInsecure = false) => {
    const r = await discoverJwksUri(issuer, fakeIssuer({ [CONFIG]: route }).fetch, { allowInsecure });
    return r.ok ? r.jwksUri : r.error.code;
  };

  it("returns jwks_uri when the document names the configured issuer exactly", async () => {
    expect(await discover(doc())).toBe(JWKS_URI);
  });

  it("refuses an issuer mismatch, however small", async () => {
    expect(await discover(doc({ issuer: "https://evil.example" }))).toBe("issuer_mismatch");
    expect(await discover(doc({ issuer: `${ISSUER}/` }))).toBe("issuer_mismatch");
    expect(await discover(doc({ issuer: ISSUER.replace("token", "Token") }))).toBe("issuer_mismatch");
    expect(await discover(doc())).toBe(JWKS_URI);
  });

  it("strips one trailing slash from the issuer to build the URL, but compares it as configured", async () => {
    expect(await discover(doc({ issuer: `${ISSUER}/` }), `${ISSUER}/`)).toBe(JWKS_URI);
  });

  it("refuses an http jwks_uri unless allowInsecure, and bad documents", async () => {
    expect(await discover(doc({ jwks_uri: "http://token.actions.githubusercontent.com/jwks" }))).toBe("insecure_uri");
    expect(await discover(doc({ jwks_uri: "http://localhost/jwks" }), ISSUER, true)).toBe("http://localhost/jwks");
    expect(await discover(doc({ jwks_uri: 42 }))).toBe("invalid_document");
    expect(await discover(json({ jwks_uri: JWKS_URI }))).toBe("invalid_document");
    expect(await discover(json({}, 404))).toBe("http_status");
    expect(await discover(doc(), "http://token.actions.githubusercontent.com")).toBe("insecure_uri");
    expect(await discover(doc(), `${ISSUER}?x=1`)).toBe("insecure_uri");
  });
});
