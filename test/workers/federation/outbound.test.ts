/**
 * The outbound-fetch guard (checkOutboundUrl), the hand-followed redirects of fetchJsonDocument,
 * and the negative cache and fetch budget of JwksCache. Fake `fetch` functions record every call,
 * so "refused" always also means "nothing was fetched".
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../worker/contract/config";
import { fetchJsonDocument, MAX_REDIRECTS, type FetchFn } from "../../../worker/core/federation/document-fetch";
import { JwksCache } from "../../../worker/core/federation/jwks";
import {
  boundDetail,
  checkOutboundUrl,
  MAX_DETAIL_CHARS,
  OutboundBudget,
} from "../../../worker/core/federation/outbound";
import { JWKS_DOC, NOW_MS } from "./jwt-fixtures";
import { productionEnv } from "../support/production-env";

const problem = (url: string, allowInsecureForTests = false) => {
  const r = checkOutboundUrl(url, { allowInsecureForTests });
  return r.ok ? "ok" : r.problem;
};

describe("checkOutboundUrl", () => {
  it("refuses every IP-literal spelling of loopback, metadata and private addresses", () => {
    for (const url of [
      "https://127.0.0.1/jwks",
      "https://169.254.169.254/latest/meta-data/",
      "https://2130706433/", // decimal 127.0.0.1
      "https://0177.0.0.1/", // octal
      "https://0x7f.0.0.1/", // hex
      "https://0x7f000001/",
      "https://127.1/",
      "https://10.0.0.8/",
      "https://100.64.0.1/", // CGNAT
      "https://[::1]/",
      "https://[::ffff:127.0.0.1]/", // v4-mapped
      "https://[::ffff:a9fe:a9fe]/",
      "https://[fd00::1]/",
      "https://[fe80::1%25eth0]/",
      "https://127。0。0。1/", // ideographic full stops, mapped to "." by IDNA
      "https://１２７.0.0.1/", // fullwidth digits
    ]) {
      expect(problem(url), url).toMatch(/IP address|not a URL/);
    }
    expect(problem("https://token.actions.githubusercontent.com/.well-known/jwks")).toBe("ok");
  });

  it("refuses localhost, single-label hosts and non-public suffixes, with or without a trailing dot", () => {
    for (const url of [
      "https://localhost/",
      "https://localhost./",
      "https://ｌｏｃａｌｈｏｓｔ/",
      "https://LOCALHOST/",
      "https://metadata/",
      "https://metadata.google.internal/",
      "https://vault.localhost/",
      "https://printer.local/",
      "https://nas.home.arpa/",
      "https://kms.internal./",
    ]) {
      expect(problem(url), url).not.toBe("ok");
    }
    expect(problem("https://gitlab.example.com/")).toBe("ok");
  });

  it("refuses http, other schemes, userinfo and non-default ports", () => {
    expect(problem("http://gitlab.example.com/")).toMatch(/https is required/);
    expect(problem("file:///etc/passwd")).toMatch(/https is required/);
    expect(problem("gopher://gitlab.example.com/")).toMatch(/https is required/);
    expect(problem("https://user:pw@gitlab.example.com/")).toMatch(/user name or password/);
    expect(problem("https://gitlab.example.com@169.254.169.254/")).toMatch(/user name or password/);
    expect(problem("https://gitlab.example.com:8443/")).toMatch(/port 8443/);
    expect(problem("not a url")).toBe("not a URL");
    // The default port is the same URL.
    expect(problem("https://gitlab.example.com:443/")).toBe("ok");
  });

  it("allows http, ports and loopback only with allowInsecureForTests, never userinfo", () => {
    expect(problem("http://127.0.0.1:8787/jwks", true)).toBe("ok");
    expect(problem("http://127.0.0.1:8787/jwks")).not.toBe("ok");
    expect(problem("http://u:p@127.0.0.1:8787/", true)).toMatch(/user name or password/);
    expect(problem("ftp://127.0.0.1/", true)).toMatch(/https is required/);
  });

  it("bounds details kept for the audit log", () => {
    expect(boundDetail("short")).toBe("short");
    const long = boundDetail("x".repeat(10_000));
    expect(long.length).toBeLessThan(MAX_DETAIL_CHARS + 20);
    expect(long).toMatch(/truncated\]$/);
  });
});

/** A fake network: answers from `routes`, 404 otherwise, recording each URL and its init. */
function network(routes: Record<string, () => Response>) {
  const calls: { url: string; init?: RequestInit }[] = [];
  const fetch: FetchFn = async (url, init) => {
    calls.push({ url, init });
    return routes[url]?.() ?? new Response("not found", { status: 404 });
  };
  return { fetch, calls };
}
const redirect =
  (to: string, status = 302) =>
  () =>
    new Response(null, { status, headers: { location: to } });
const doc = () => Response.json({ ok: true });

describe("fetchJsonDocument redirects", () => {
  it("follows redirects by hand, re-checking each hop, with no-store and manual redirect", async () => {
    const net = network({
      "https://a.example.com/d": redirect("/moved", 301),
      "https://a.example.com/moved": redirect("https://b.example.com/d", 308),
      "https://b.example.com/d": doc,
    });
    expect(await fetchJsonDocument("https://a.example.com/d", net.fetch, {})).toEqual({
      ok: true,
      value: { ok: true },
    });
    expect(net.calls.map((c) => c.url)).toEqual([
      "https://a.example.com/d",
      "https://a.example.com/moved",
      "https://b.example.com/d",
    ]);
    for (const { init } of net.calls) expect(init).toMatchObject({ redirect: "manual", cache: "no-store" });
  });

  it("refuses a redirect to a refused URL without fetching it", async () => {
    for (const target of [
      "http://169.254.169.254/latest/meta-data/",
      "https://127.0.0.1/",
      "https://metadata.google.internal/",
      "https://u:p@b.example.com/",
    ]) {
      const net = network({ "https://a.example.com/d": redirect(target) });
      const r = await fetchJsonDocument("https://a.example.com/d", net.fetch, {});
      expect(r.ok ? "ok" : r.error.code, target).toBe("insecure_uri");
      expect(net.calls).toHaveLength(1);
    }
  });

  it(`follows at most ${MAX_REDIRECTS} redirects`, async () => {
    const hops = (n: number) =>
      Object.fromEntries(
        Array.from({ length: n }, (_, i) => [`https://a.example.com/${i}`, redirect(`https://a.example.com/${i + 1}`)]),
      );
    const ok = network({ ...hops(MAX_REDIRECTS), [`https://a.example.com/${MAX_REDIRECTS}`]: doc });
    expect((await fetchJsonDocument("https://a.example.com/0", ok.fetch, {})).ok).toBe(true);
    const loop = network(hops(50));
    const r = await fetchJsonDocument("https://a.example.com/0", loop.fetch, {});
    expect(r.ok ? "ok" : r.error.code).toBe("http_status");
    expect(loop.calls).toHaveLength(MAX_REDIRECTS + 1);
  });
});

describe("JwksCache negative cache and budget", () => {
  const clock = () => {
    let t = NOW_MS;
    return { now: () => t, advance: (ms: number) => void (t += ms) };
  };

  it("answers a failed JWKS fetch from memory for negativeTtlMs, then tries again", async () => {
    const net = network({});
    const c = clock();
    const cache = new JwksCache({ fetch: net.fetch, now: c.now, negativeTtlMs: 60_000 });
    for (let i = 0; i < 20; i++) expect((await cache.get("https://a.example.com/jwks")).ok).toBe(false);
    expect(net.calls).toHaveLength(1);
    c.advance(60_000);
    expect((await cache.get("https://a.example.com/jwks")).ok).toBe(false);
    expect(net.calls).toHaveLength(2);
  });

  it("caches discovery, found or not, and a found jwks_uri for ttlMs", async () => {
    const issuer = "https://a.example.com";
    const net = network({
      [`${issuer}/.well-known/openid-configuration`]: () => Response.json({ issuer, jwks_uri: `${issuer}/jwks` }),
    });
    const c = clock();
    const cache = new JwksCache({ fetch: net.fetch, now: c.now, ttlMs: 600_000, negativeTtlMs: 60_000 });
    for (let i = 0; i < 10; i++)
      expect(await cache.jwksUriFor(issuer)).toEqual({ ok: true, jwksUri: `${issuer}/jwks` });
    for (let i = 0; i < 10; i++) expect((await cache.jwksUriFor("https://gone.example.com")).ok).toBe(false);
    expect(net.calls).toHaveLength(2);
    c.advance(60_000);
    await cache.jwksUriFor(issuer);
    await cache.jwksUriFor("https://gone.example.com");
    expect(net.calls).toHaveLength(3); // only the negative entry lapsed
    c.advance(540_000);
    await cache.jwksUriFor(issuer);
    expect(net.calls).toHaveLength(4);
  });

  it("spends one budget across JWKS and discovery; over it, refuses without fetching until the next minute", async () => {
    const net = network({ "https://a.example.com/jwks": () => Response.json(JWKS_DOC) });
    const c = clock();
    const cache = new JwksCache({ fetch: net.fetch, now: c.now, fetchesPerMinute: 3 });
    expect((await cache.jwksUriFor("https://x1.example.com")).ok).toBe(false);
    expect((await cache.get("https://x2.example.com/jwks")).ok).toBe(false);
    expect((await cache.get("https://a.example.com/jwks")).ok).toBe(true);
    const over = await cache.get("https://x3.example.com/jwks");
    expect(over.ok ? "ok" : over.error.code).toBe("budget_exceeded");
    const overDiscovery = await cache.jwksUriFor("https://x4.example.com");
    expect(overDiscovery.ok ? "ok" : overDiscovery.error.code).toBe("budget_exceeded");
    expect(net.calls).toHaveLength(3);
    // Cached answers need no budget.
    expect((await cache.get("https://a.example.com/jwks")).ok).toBe(true);
    c.advance(60_000);
    expect((await cache.get("https://x3.example.com/jwks")).ok).toBe(false);
    expect(net.calls).toHaveLength(4);
  });

  it("OutboundBudget counts per fixed minute", () => {
    const b = new OutboundBudget(2);
    expect([b.take(0), b.take(1), b.take(2)]).toEqual([true, true, false]);
    expect(b.take(60_000)).toBe(true);
    expect(() => new OutboundBudget(0)).toThrow(RangeError);
  });
});

describe("OUTBOUND_ALLOW_INSECURE", () => {
  const production = (over: Record<string, unknown> = {}) => productionEnv(over);
  const rest = env as unknown as Record<string, unknown>;

  it("is refused in production, allowed in tests, and off unless set", () => {
    expect(loadConfig(production()).OUTBOUND_ALLOW_INSECURE).toBe(false);
    expect(() => loadConfig(production({ OUTBOUND_ALLOW_INSECURE: "true" }))).toThrow(/misconfigured/);
    expect(loadConfig({ ...rest, OUTBOUND_ALLOW_INSECURE: "true" } as unknown as Env).OUTBOUND_ALLOW_INSECURE).toBe(
      true,
    );
  });
});
