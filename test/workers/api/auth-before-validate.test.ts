import { env, runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { OPERATIONS } from "../../../worker/contract/operations";
import { ROLES, type Role } from "../../../worker/contract/roles";
import app from "../../../worker/index";
import { ALL_ROUTES } from "../../../worker/contract/operations";
import type { RouteDef } from "../../../worker/contract/operations";
import { vaultStub } from "../../../worker/routes/define";
import {
  AUTH_ROUTES,
  callRoute,
  expectError,
  fixtureOf,
  label,
  setupWorld,
  type RequestParts,
  type World,
} from "./route-fixtures";

/**
 * Issue 9 §7 at the route level: every authenticated route, hand-written ones included, answers
 * 401/403 before it says anything about the input, and every such refusal is recorded. The
 * routes come from the app itself, so a route added outside the route tables fails here first.
 */

/** Served by the app but outside the conformance suite, each for a stated reason. */
const EXEMPT: Record<string, string> = {
  "GET /v1/openapi.json": "public description of ALL_ROUTES",
  "ALL /v1/bench/*": "benchmark routes: 404 unless TEST_HOOKS, which production refuses",
  "ALL /v1/operator/*":
    "operator plane: operator tokens, not tenant roles; every route of OPERATOR_ROUTES is checked 401-before-400 in test/workers/operator/auth.test.ts",
  "ALL /ui/*":
    "HTML dashboard: session cookie, not bearer; its sign-in, CSRF and role gating are tested in test/workers/dashboard/",
};
const exempt = (key: string) =>
  key in EXEMPT ||
  (key.includes(" /v1/bench/") && "ALL /v1/bench/*" in EXEMPT) ||
  (key.includes(" /v1/operator/") && "ALL /v1/operator/*" in EXEMPT) ||
  (key.includes(" /ui") && "ALL /ui/*" in EXEMPT);

describe("the app's routes", () => {
  it("are all in ALL_ROUTES (so the route × role, auth and bad-input suites cover them) or exempt for a stated reason", () => {
    const declared = new Set(ALL_ROUTES.map((r) => `${r.method.toUpperCase()} ${r.path}`));
    const served = app.routes.map((r) => `${r.method} ${r.path}`).filter((key) => !/^ALL \/(v1\/)?\*$/.test(key));
    expect(served.length).toBeGreaterThan(AUTH_ROUTES.length);
    const unlisted = served.filter((key) => !declared.has(key) && !exempt(key));
    expect(unlisted, "add these routes to a route table (worker/routes/*.ts) and a fixture").toEqual([]);
    for (const key of declared) expect(served, `${key} is declared but not served`).toContain(key);
  });
});

const ORDER: readonly Role[] = ["viewer", "user", "manager", "admin"];

/** Bad input for a route and the name the 400 must mention; null when the route takes no input. */
function badInput(
  route: RouteDef,
  parts: RequestParts,
): {
  parts: RequestParts;
  names: string;
  status: number;
  extra?: { rawBody: string; headers: Record<string, string> };
} | null {
  if (route.body)
    return {
      parts: { ...parts, body: { ...(parts.body as object), bogus_field: 1 } },
      names: "bogus_field",
      status: 400,
    };
  if (route.query)
    return {
      parts: { ...parts, query: { ...parts.query, from_seq: "abc", bogus_param: "1" } },
      names: "bogus_param",
      status: 400,
    };
  if (route.params) {
    const name = Object.keys(route.params.shape)[0]!;
    return { parts: { ...parts, params: { ...parts.params, [name]: "x".repeat(300) } }, names: "path", status: 400 };
  }
  return null;
}

describe("authenticate before validating", { timeout: 240_000 }, () => {
  let w: World;
  beforeAll(async () => {
    w = await setupWorld("validate");
  });

  const withInput = AUTH_ROUTES.filter((r) => r.body || r.query || r.params);
  it("covers every authenticated route that takes input (body, query or path)", () => {
    expect(withInput.map(label)).toContain("GET /v1/audit/export (audit.export)");
    expect(withInput.length).toBe(AUTH_ROUTES.filter((r) => badInput(r, {}) !== null).length);
  });

  it.each(withInput.map((r) => [label(r), r] as const))(
    "%s: bad input from an unknown token is 401 and from a role below the route's is 403, neither naming the input, both recorded; from an allowed role it is the 4xx naming it",
    async (_name, route) => {
      const parts = await fixtureOf(route)(w);
      const bad = badInput(route, parts)!;
      const forged = `${w.adminToken.slice(0, -1)}${w.adminToken.endsWith("0") ? "1" : "0"}`;
      // Role refusals are access.denied, lease.denied for the lease route.
      const count = (type: string) =>
        runInDurableObject(
          vaultStub(env, w.tenantId),
          (_o, state) =>
            state.storage.sql
              .exec<{ n: number }>(
                "SELECT COUNT(*) AS n FROM audit WHERE type IN (?, ?)",
                type,
                type === "access.denied" ? "lease.denied" : type,
              )
              .one().n,
        );

      const authDenied = await count("auth.denied");
      const unknown = await callRoute(w, route, forged, bad.parts);
      expect(expectError(unknown, 401, "unauthorized")).not.toContain(bad.names);
      expect(await count("auth.denied")).toBe(authDenied + 1);

      const need = OPERATIONS[route.operation!];
      const below = ORDER[ORDER.indexOf(need) - 1];
      if (below) {
        const accessDenied = await count("access.denied");
        const refused = await callRoute(w, route, w.tokens[below], bad.parts);
        expect(expectError(refused, 403, "forbidden")).not.toContain(bad.names);
        expect(await count("access.denied")).toBe(accessDenied + 1);
      }

      // Positive control: the same bad input from a caller who may call the route is told what is wrong.
      const allowed = await callRoute(w, route, w.tokens[need], bad.parts);
      expect(expectError(allowed, bad.status, "validation_failed")).toContain(bad.names);
    },
  );

  it("GET /v1/audit/export?from_seq=abc: 401 for an unknown token, 400 naming from_seq for the admin", async () => {
    const route = ALL_ROUTES.find((r) => r.path === "/v1/audit/export")!;
    const forged = `gv_api_${w.tenantId}_${"f".repeat(64)}`;
    expect(
      expectError(await callRoute(w, route, forged, { query: { from_seq: "abc" } }), 401, "unauthorized"),
    ).not.toContain("from_seq");
    expect(
      expectError(await callRoute(w, route, w.tokens.admin, { query: { from_seq: "abc" } }), 400, "validation_failed"),
    ).toContain("from_seq");
    expect(ROLES).toEqual(ORDER);
  });
});
