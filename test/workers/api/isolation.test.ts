import { describe, expect, it } from "vitest";
import type { RouteDef } from "../../../worker/contract/operations";
import { api, expectStatus } from "../helpers";
import {
  AUTH_ROUTES,
  bodyOf,
  callRoute,
  expectError,
  expectSuccess,
  fixtureOf,
  label,
  makeAccessRequest,
  makeLease,
  makeVia,
  paramKind,
  send,
  setupWorld,
  snapshot,
  uid,
  type ErrorJson,
  type ParamKind,
  type World,
} from "./route-fixtures";

const hex24 = (): string =>
  Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, "0")).join("");

/** Two tenants; A's responses are also checked for B's planted values. */
async function twoTenants(): Promise<{ a: World; b: World; bOwn: BOwn }> {
  const a = await setupWorld("a");
  const b = await setupWorld("b");
  const team = `team-b-${uid()}`;
  await expectStatus(await api(b.adminToken, "PUT", `/v1/teams/${team}`, { members: ["agent:*"] }), 200);
  const bOwn = {
    lease: await makeLease(b),
    request: await makeAccessRequest(b),
    trust: await makeVia(b, "oidc.create", "/v1/oidc/trusts"),
    webhook: await makeVia(b, "webhooks.create", "/v1/webhooks"),
    team,
  };
  a.secrets.push(...b.secrets);
  return { a, b, bOwn };
}

/** Things B owns besides its world's credential and tokens. */
interface BOwn {
  lease: string;
  request: string;
  trust: { id: string; name: string };
  webhook: { id: string; name: string };
  team: string;
}

/** Pairs of [B's existing thing, a thing of the same shape that exists nowhere]. */
function foreignAndMissing(kind: ParamKind, b: World, own: BOwn, route: RouteDef): [string, string][] {
  switch (kind) {
    case "credential":
      return [
        [b.credential.id, `cred_${hex24()}`],
        [b.credential.name, `world/missing-${uid()}`],
      ];
    case "token":
      return [[b.spareToken.id, `tok_${hex24()}`]];
    case "lease":
      return [[own.lease, `lease_${hex24()}`]];
    case "trust":
      return [
        [own.trust.id, `trust_${hex24()}`],
        [own.trust.name, `missing-${uid()}`],
      ];
    case "webhook":
      return [
        [own.webhook.id, `hook_${hex24()}`],
        [own.webhook.name, `missing-${uid()}`],
      ];
    case "team":
      // Team names are per tenant: PUT with B's team name creates A's own namesake, which is not
      // reaching B (the snapshot below shows B unchanged); a DELETE of it must look like a missing one.
      return route.method === "delete" ? [[own.team, `missing-${uid()}`]] : [];
    case "access_request":
      return [[own.request, `areq_${hex24()}`]];
  }
}

const PARAM_ROUTES = AUTH_ROUTES.filter((r) => r.params !== undefined);

describe("the isolation table", () => {
  it("has routes with parameters to test, and knows what each parameter names", () => {
    expect(PARAM_ROUTES.length).toBeGreaterThan(0);
    for (const route of PARAM_ROUTES)
      for (const name of Object.keys(route.params!.shape)) expect(() => paramKind(route, name)).not.toThrow();
  });
});

describe.each(PARAM_ROUTES.map((r) => [label(r), r] as const))(
  "%s across tenants",
  { timeout: 240_000 },
  (_name, route) => {
    it("A's admin on B's ids gets exactly the 404 of an id that exists nowhere; B is unchanged; A on its own ids succeeds", async () => {
      const { a, b, bOwn } = await twoTenants();
      const bBefore = await snapshot(b);
      const parts = await fixtureOf(route)(a);
      for (const name of Object.keys(route.params!.shape)) {
        for (const [foreign, missing] of foreignAndMissing(paramKind(route, name), b, bOwn, route)) {
          const onForeign = await callRoute(a, route, a.tokens.admin, {
            ...parts,
            params: { ...parts.params, [name]: foreign },
          });
          const onMissing = await callRoute(a, route, a.tokens.admin, {
            ...parts,
            params: { ...parts.params, [name]: missing },
          });
          expectError(onForeign, 404, "not_found");
          expectError(onMissing, 404, "not_found");
          expect(bodyOf<ErrorJson>(onForeign).error.message, `:${name}=${foreign}`).toBe(
            bodyOf<ErrorJson>(onMissing).error.message,
          );
        }
      }
      expect(await snapshot(b)).toEqual(bBefore);
      // Positive control: the same request on A's own target succeeds.
      expectSuccess(route, await callRoute(a, route, a.tokens.admin, parts));
    });
  },
);

describe("listings across tenants", { timeout: 240_000 }, () => {
  const LISTS = AUTH_ROUTES.filter((r) => r.method === "get" && r.params === undefined);

  it("no listing as A (every GET without parameters) mentions B's tenant, credentials, tokens or leases", async () => {
    const { a, b, bOwn } = await twoTenants();
    const bNames = [`world/a-${uid()}`, `fixture/${uid()}`];
    const bIds = [
      b.tenantId,
      b.credential.id,
      b.credential.name,
      b.spareToken.id,
      bOwn.lease,
      bOwn.request,
      bOwn.trust.id,
      bOwn.trust.name,
      bOwn.webhook.id,
      bOwn.webhook.name,
      bOwn.team,
    ];
    for (const n of bNames)
      bIds.push(
        bodyOf<{ id: string }>(
          await send(b, "post", "/v1/credentials", {
            token: b.adminToken,
            body: { name: n, value: `PLANTED-${uid()}`, tags: ["fixture"] },
          }),
        ).id,
        n,
      );
    expect(LISTS.length).toBeGreaterThan(0);
    for (const route of LISTS) {
      const parts = await fixtureOf(route)(a);
      const queries = [
        parts.query,
        ...(route.path === "/v1/credentials"
          ? [{ prefix: "world/" }, { prefix: "fixture/" }, { tag: "fixture" }, { cursor: "a" }]
          : []),
      ];
      for (const query of queries) {
        const r = await callRoute(a, route, a.tokens.admin, { ...parts, query });
        expectSuccess(route, r);
        for (const id of bIds)
          expect(r.text, `${label(route)}?${new URLSearchParams(query)} mentions ${id}`).not.toContain(id);
      }
    }
    // Positive control: B's own listing does show B's credential.
    const own = await send(b, "get", "/v1/credentials", { token: b.adminToken, query: { limit: "100" } });
    expect(own.text).toContain(b.credential.id);
  });

  it("a token carrying A's tenant id with B's secret is refused; each tenant's own token works", async () => {
    const { a, b } = await twoTenants();
    const forged = `gv_api_${a.tenantId}_${b.tokens.admin.slice(-64)}`;
    expectError(await send(a, "get", "/v1/whoami", { token: forged }), 401, "unauthorized");
    for (const w of [a, b]) {
      const me = await send(a, "get", "/v1/whoami", { token: w.tokens.admin });
      expect(me.status, me.text).toBe(200);
      expect(bodyOf<{ tenant_id: string }>(me).tenant_id).toBe(w.tenantId);
    }
  });
});
