import { describe, expect, it } from "vitest";
import type { RouteDef } from "../../../worker/contract/operations";
import {
  AUTH_ROUTES,
  bodyOf,
  callRoute,
  expectError,
  expectSuccess,
  fillPath,
  fixtureOf,
  label,
  makeToken,
  send,
  setupWorld,
  snapshot,
  type World,
} from "./route-fixtures";

/** Authentication on every authenticated route (roles.test.ts covers authorisation). */

/** The raw tokens a request can present that must all be refused as 401. */
function badTokens(w: World): Record<string, string | null> {
  const good = w.tokens.admin;
  const secret = good.slice(-64);
  const flipped = `${good.slice(0, -1)}${good.endsWith("0") ? "1" : "0"}`;
  return {
    "no token": null,
    "not a token": "hello",
    "wrong prefix": `xx${good.slice(2)}`,
    truncated: good.slice(0, -1),
    "one secret digit changed": flipped,
    "api token presented as a session token": good.replace("gv_api_", "gv_ses_"),
    "unknown tenant": `gv_api_${"0".repeat(20)}_${secret}`,
  };
}

const TIMEOUT = { timeout: 240_000 };

/** A GET cannot change state; only other methods pay for the before/after snapshots. */
const mayWrite = (route: RouteDef) => route.method !== "get";

describe.each(AUTH_ROUTES.map((route) => [label(route), route] as const))("%s", TIMEOUT, (_name, route) => {
  it("refuses missing, malformed and revoked tokens with 401; the same request succeeds with a good token, and did just before revocation", async () => {
    const w = await setupWorld();
    const parts = await fixtureOf(route)(w);
    const before = mayWrite(route) ? await snapshot(w) : null;
    for (const [what, token] of Object.entries(badTokens(w))) {
      const r = await callRoute(w, route, token, parts);
      expect(r.status, `${what}: ${r.text}`).toBe(401);
      expectError(r, 401, "unauthorized");
    }
    const basic = await send(w, route.method, fillPath(route, parts.params), {
      query: parts.query,
      body: parts.body,
      headers: { authorization: `Basic ${btoa("a:b")}` },
    });
    expectError(basic, 401, "unauthorized");
    if (before) expect(await snapshot(w)).toEqual(before);
    expectSuccess(route, await callRoute(w, route, w.tokens.admin, parts));

    const doomed = await makeToken(w.adminToken, { role: "admin" });
    expectSuccess(route, await callRoute(w, route, doomed.token, await fixtureOf(route)(w, doomed.token)));
    const revoked = await send(w, "delete", `/v1/tokens/${doomed.id}`, { token: w.adminToken });
    expect(revoked.status, revoked.text).toBe(204);
    const next = await fixtureOf(route)(w);
    expectError(await callRoute(w, route, doomed.token, next), 401, "unauthorized");
    expectSuccess(route, await callRoute(w, route, w.tokens.admin, next));
  });
});

describe("expired tokens", { timeout: 300_000 }, () => {
  it("a token with expires_in: 3 works at once and is refused on every route after it expires", async () => {
    const w = await setupWorld();
    const shortLived = await makeToken(w.adminToken, { role: "admin", expires_in: 3 });
    const me = await send(w, "get", "/v1/whoami", { token: shortLived.token });
    expect(me.status, me.text).toBe(200);
    const expiresAt = Date.parse(bodyOf<{ expires_at: string }>(me).expires_at);
    expect(expiresAt - Date.now()).toBeLessThanOrEqual(3000);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiresAt - Date.now()) + 150));
    for (const route of AUTH_ROUTES) {
      const parts = await fixtureOf(route)(w);
      expectError(await callRoute(w, route, shortLived.token, parts), 401, "unauthorized");
      expectSuccess(route, await callRoute(w, route, w.tokens.admin, parts));
    }
  });
});
