import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { openSessionValue, sealSession, type CookieSession } from "../../../worker/dashboard/session";
import { vaultStub } from "../../../worker/routes/define";
import { api, BASE, bootstrap, expectStatus, makeToken, tokenWithRole, workerFetch } from "../helpers";
import { browser, COOKIE, signedIn } from "./browser";

/**
 * Issue 14 §1: the dashboard's headers, session cookie, CSRF protection and session lifetime.
 * Every refusal has its positive control beside it.
 */

/** What a dashboard cookie carries, its mac checked. */
async function opened(cookie: string): Promise<CookieSession> {
  const session = await openSessionValue(env.TOKEN_PEPPER, cookie);
  expect(session).not.toBeNull();
  return session!;
}

function expectPageHeaders(res: Response): void {
  const csp = res.headers.get("content-security-policy") ?? "";
  expect(csp).toContain("default-src 'self'");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).toContain("form-action 'self'");
  expect(csp).toContain("base-uri 'none'");
  expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
  expect(res.headers.get("strict-transport-security")).toMatch(/max-age=\d+/);
  expect(res.headers.get("referrer-policy")).toBe("no-referrer");
  expect(res.headers.get("cache-control")).toBe("no-store");
  expect(res.headers.get("x-content-type-options")).toBe("nosniff");
}

describe("dashboard headers", () => {
  it("every page, redirect, error page and asset carries the CSP, HSTS, no-referrer, no-store and nosniff", async () => {
    const { adminToken } = await bootstrap();
    const viewer = await signedIn(await tokenWithRole(adminToken, "viewer"));
    const anonymous = browser();
    const responses = [
      await anonymous.get("/ui/login"),
      await anonymous.get("/ui/credentials"),
      await anonymous.get("/ui/assets/app.js"),
      await anonymous.get("/ui/assets/app.css"),
      await viewer.get("/ui/credentials"),
      await viewer.get("/ui/tokens"),
      await viewer.get("/ui/no-such-page"),
    ];
    expect(responses.map((r) => r.status)).toEqual([200, 303, 200, 200, 200, 403, 404]);
    for (const res of responses) expectPageHeaders(res);
  });

  it("pages carry no inline script, inline style or event handler attribute (the CSP would block them)", async () => {
    const { adminToken } = await bootstrap();
    const admin = await signedIn(adminToken);
    for (const path of ["/ui/login", "/ui/credentials", "/ui/leases", "/ui/audit", "/ui/tokens", "/ui/kek"]) {
      const html = await (await admin.get(path)).text();
      // Positive control: the external script is referenced.
      expect(html).toContain('<script src="/ui/assets/app.js"');
      expect(html.match(/<script(?![^>]*\bsrc=)[^>]*>/g)).toBeNull();
      expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    }
  });

  it("over plain http (development only) the cookie is gv_session without Secure, and HSTS is still sent outside development", async () => {
    const { adminToken } = await bootstrap();
    const res = await workerFetch("http://vault.test/ui/login", {
      method: "POST",
      headers: { origin: "http://vault.test", "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: adminToken }).toString(),
      redirect: "manual",
    });
    expect(res.status).toBe(303);
    const cookie = res.headers.getSetCookie().join("\n");
    expect(cookie).toMatch(/^gv_session=/);
    expect(cookie).not.toMatch(/Secure/i);
    expect(cookie).toMatch(/HttpOnly/);
  });
});

describe("sign-in", () => {
  it("exchanges an API token for a session in a __Host- cookie (HttpOnly, Secure, SameSite=Strict, Path=/, no Domain, ≤ 12 h); the API token is not in it", async () => {
    const { adminToken } = await bootstrap();
    const b = browser();
    const res = await b.post("/ui/login", { token: adminToken });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/ui/credentials");
    const [line] = res.headers.getSetCookie();
    expect(line).toMatch(new RegExp(`^${COOKIE}=[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]{43};`));
    expect(line).toMatch(/; HttpOnly/);
    expect(line).toMatch(/; Secure/);
    expect(line).toMatch(/; SameSite=Strict/);
    expect(line).toMatch(/; Path=\/(;|$)/);
    expect(line).not.toMatch(/Domain=/i);
    const maxAge = Number(/Max-Age=(\d+)/.exec(line!)?.[1]);
    expect(maxAge).toBeGreaterThan(0);
    expect(maxAge).toBeLessThanOrEqual(12 * 3600);
    expect(line).not.toContain(adminToken);
    // The cookie holds a session of the same identity, not the API token.
    const who = await expectStatus<{ kind: string; identity: string }>(
      await api((await opened(b.cookie!)).token, "GET", "/v1/whoami"),
      200,
    );
    expect(who).toMatchObject({ kind: "session", identity: "user:admin@acme.test" });
  });

  it("refuses an unknown token (401), a session token (403) and a cross-origin post (403) without a cookie; the API token signs in", async () => {
    const { adminToken, tenantId } = await bootstrap();
    const unknown = await browser().post("/ui/login", { token: `gv_api_${tenantId}_${"A".repeat(43)}` });
    expect(unknown.status).toBe(401);
    expect(unknown.headers.getSetCookie()).toEqual([]);
    const session = await expectStatus<{ token: string }>(await api(adminToken, "POST", "/v1/sessions", {}), 201);
    const withSession = await browser().post("/ui/login", { token: session.token });
    expect(withSession.status).toBe(403);
    expect(withSession.headers.getSetCookie()).toEqual([]);
    const crossOrigin = await browser().post("/ui/login", { token: adminToken }, { origin: "https://evil.test" });
    expect(crossOrigin.status).toBe(403);
    expect(crossOrigin.headers.getSetCookie()).toEqual([]);
    // Control.
    expect((await browser().post("/ui/login", { token: adminToken })).status).toBe(303);
  });

  it("a page without a session redirects to sign-in; a form post without one is 401; neither clears a cookie (a cross-site request, sent without it, cannot sign the user out)", async () => {
    const b = browser();
    const page = await b.get("/ui/credentials");
    expect(page.status).toBe(303);
    expect(page.headers.get("location")).toBe("/ui/login");
    expect(page.headers.getSetCookie()).toEqual([]);
    const post = await b.post("/ui/credentials", { name: "x", value: "y" }, { csrf: "nope" });
    expect(post.status).toBe(401);
    expect(post.headers.getSetCookie()).toEqual([]);
    // Control: a page load with a dead cookie does clear it.
    b.cookie = "dead.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    const dead = await b.get("/ui/credentials");
    expect(dead.headers.get("location")).toBe("/ui/login?reason=expired");
    expect(dead.headers.getSetCookie()[0]).toMatch(/Max-Age=0/);
  });

  it("a malformed form body is a 4xx page, never a 500; a file where text belongs is a 400", async () => {
    const res = await workerFetch(`${BASE}/ui/login`, {
      method: "POST",
      headers: { origin: BASE, "content-type": "application/x-www-form-urlencoded" },
      body: "token=%ED%A0%80%ZZ",
    });
    expect(res.status).toBe(401);
    const form = new FormData();
    form.append("token", new File(["x"], "token.txt"));
    const file = await workerFetch(`${BASE}/ui/login`, { method: "POST", headers: { origin: BASE }, body: form });
    expect(file.status).toBe(400);
    expect(await file.text()).toContain("must be text");
  });
});

describe("CSRF", () => {
  const cases = [
    ["no Origin header", { origin: null }],
    ["another Origin", { origin: "https://evil.test" }],
    ["Origin null (a sandboxed frame) and no Fetch Metadata", { origin: "null" }],
    ["Origin null and Sec-Fetch-Site cross-site", { origin: "null", secFetchSite: "cross-site" }],
    ["its own Origin but Sec-Fetch-Site same-site (a sibling subdomain)", { secFetchSite: "same-site" }],
    ["no CSRF token", { csrf: null }],
    ["a wrong CSRF token", { csrf: "A".repeat(43) }],
  ] as const;

  it.each(cases)(
    "a state-changing post with %s is 403 and changes nothing; the same post with both is accepted",
    async (_name, override) => {
      const { adminToken } = await bootstrap();
      const b = await signedIn(adminToken);
      const refused = await b.post("/ui/credentials", { name: "csrf-target", value: "v" }, override);
      expect(refused.status).toBe(403);
      expect(await refused.text()).toMatch(/CSRF|cross-origin/);
      await expectStatus(await api(adminToken, "GET", "/v1/credentials/csrf-target"), 404);
      const accepted = await b.post("/ui/credentials", { name: "csrf-target", value: "v" });
      expect(accepted.status).toBe(303);
      await expectStatus(await api(adminToken, "GET", "/v1/credentials/csrf-target"), 200);
    },
  );

  it("Origin null with Sec-Fetch-Site same-origin is what a browser sends under Referrer-Policy no-referrer: accepted with the CSRF token", async () => {
    const { adminToken } = await bootstrap();
    const b = await signedIn(adminToken);
    expect(
      (
        await b.post(
          "/ui/credentials",
          { name: "null-origin", value: "v" },
          { origin: "null", secFetchSite: "same-origin" },
        )
      ).status,
    ).toBe(303);
    await expectStatus(await api(adminToken, "GET", "/v1/credentials/null-origin"), 200);
    expect(
      (
        await b.post(
          "/ui/credentials",
          { name: "null-origin-2", value: "v" },
          { origin: "null", secFetchSite: "same-origin", csrf: null },
        )
      ).status,
    ).toBe(403);
  });

  it("the CSRF token of another session (same tenant, same identity) is refused", async () => {
    const { adminToken } = await bootstrap();
    const mine = await signedIn(adminToken);
    const other = await signedIn(adminToken);
    expect(other.csrf).not.toBe(mine.csrf);
    expect((await mine.post("/ui/kek/rotate", {}, { csrf: other.csrf })).status).toBe(403);
    expect((await mine.post("/ui/kek/rotate", {})).status).toBe(303);
  });

  it("sign-out is a CSRF-checked post too: a cross-origin one leaves the session alive", async () => {
    const { adminToken } = await bootstrap();
    const b = await signedIn(adminToken);
    expect((await b.post("/ui/logout", {}, { origin: "https://evil.test" })).status).toBe(403);
    expect((await b.get("/ui/credentials")).status).toBe(200);
  });
});

describe("session lifetime", () => {
  it("idle: a cookie last used more than 30 minutes ago ends the session and revokes it in the vault; a recent one works", async () => {
    const { adminToken } = await bootstrap();
    const b = await signedIn(adminToken);
    const session = await opened(b.cookie!);
    const token = session.token;
    const now = Math.floor(Date.now() / 1000);
    b.cookie = await sealSession(env.TOKEN_PEPPER, { ...session, lastSeen: now - 29 * 60 });
    expect((await b.get("/ui/credentials")).status).toBe(200);
    b.cookie = await sealSession(env.TOKEN_PEPPER, { ...session, lastSeen: now - 31 * 60 });
    const idle = await b.get("/ui/credentials");
    expect(idle.status).toBe(303);
    expect(idle.headers.get("location")).toBe("/ui/login?reason=idle");
    await expectStatus(await api(token, "GET", "/v1/whoami"), 401);
  });

  it("the lease list's background refresh does not renew the idle window; a page load does", async () => {
    const { adminToken } = await bootstrap();
    const b = await signedIn(adminToken);
    const res = await workerFetch(`${BASE}/ui/leases`, {
      headers: { cookie: `${COOKIE}=${b.cookie}`, "x-gv-background": "1" },
    });
    expect(res.status).toBe(200);
    expect(res.headers.getSetCookie()).toEqual([]);
    expect((await b.get("/ui/leases")).headers.getSetCookie()[0]).toMatch(new RegExp(`^${COOKIE}=`));
  });

  it("a cookie whose last-seen time or role was changed without the key is not a session", async () => {
    const { adminToken } = await bootstrap();
    const b = await signedIn((await makeToken(adminToken, { role: "viewer" })).token);
    const original = b.cookie!;
    const [body, mac] = original.split(".");
    const fields = JSON.parse(atob(body!.replace(/-/g, "+").replace(/_/g, "/"))) as unknown[];
    const forge = (i: number, value: unknown) => {
      const copy = [...fields];
      copy[i] = value;
      return `${btoa(JSON.stringify(copy)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")}.${mac}`;
    };
    b.cookie = forge(1, Number(fields[1]) + 1);
    expect((await b.get("/ui/credentials")).status).toBe(303);
    b.cookie = forge(4, "admin");
    expect((await b.get("/ui/tokens")).status).toBe(303);
    // Control: the untouched cookie still works.
    b.cookie = original;
    expect((await b.get("/ui/credentials")).status).toBe(200);
  });

  it("the cookie's role only draws the page: a viewer session sealed as admin (with the key) is still refused by the vault", async () => {
    const { adminToken } = await bootstrap();
    const b = await signedIn((await makeToken(adminToken, { role: "viewer" })).token);
    b.cookie = await sealSession(env.TOKEN_PEPPER, { ...(await opened(b.cookie!)), role: "admin" });
    const res = await b.get("/ui/tokens");
    expect(res.status).toBe(403);
    // Control: a real admin session gets the page.
    expect((await (await signedIn(adminToken)).get("/ui/tokens")).status).toBe(200);
  });

  it("absolute: past the session's end (12 h at most) the cookie gets the sign-in page", async () => {
    const { adminToken, tenantId } = await bootstrap();
    const b = await signedIn(adminToken);
    const vault = vaultStub(env, tenantId);
    try {
      await vault.setClockForTest(Date.now() + 11 * 3600_000);
      expect((await b.get("/ui/credentials")).status).toBe(200);
      await vault.setClockForTest(Date.now() + 12 * 3600_000 + 60_000);
      const res = await b.get("/ui/credentials");
      expect(res.status).toBe(303);
      expect(res.headers.get("location")).toMatch(/^\/ui\/login/);
    } finally {
      await vault.setClockForTest(null);
    }
  });

  it("sign-out revokes the session in the vault: the old cookie gets the sign-in page and its token a 401", async () => {
    const { adminToken } = await bootstrap();
    const b = await signedIn(adminToken);
    const oldCookie = b.cookie!;
    const res = await b.post("/ui/logout", {});
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/ui/login?reason=out");
    expect(res.headers.getSetCookie()[0]).toMatch(/Max-Age=0/);
    b.cookie = oldCookie;
    expect((await b.get("/ui/credentials")).status).toBe(303);
    await expectStatus(await api((await opened(oldCookie)).token, "GET", "/v1/whoami"), 401);
    // Control: the API token that signed in still works.
    await expectStatus(await api(adminToken, "GET", "/v1/whoami"), 200);
  });

  it("revoking the API token that signed in ends its dashboard sessions", async () => {
    const { adminToken } = await bootstrap();
    const manager = await makeToken(adminToken, { role: "manager" });
    const b = await signedIn(manager.token);
    const bystander = await signedIn(adminToken);
    await expectStatus(await api(adminToken, "DELETE", `/v1/tokens/${manager.id}`), 204);
    expect((await b.get("/ui/credentials")).status).toBe(303);
    expect((await bystander.get("/ui/credentials")).status).toBe(200);
  });
});
