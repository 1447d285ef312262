import { describe, expect, it } from "vitest";
import { OPERATIONS, type Operation } from "../../../worker/contract/operations";
import { ROLES, type Role } from "../../../worker/contract/roles";
import type { RouteDef } from "../../../worker/contract/operations";
import {
  AUTH_ROUTES,
  callRoute,
  expectError,
  expectSuccess,
  FIXTURES,
  fillPath,
  fixtureOf,
  label,
  setupWorld,
  snapshot,
} from "./route-fixtures";

/** Allowed when the role is at or above the operation's least role in the documented order. */
const ORDER: readonly Role[] = ["viewer", "user", "manager", "admin"];
const allows = (role: Role, need: Role): boolean => ORDER.indexOf(role) >= ORDER.indexOf(need);

describe("the route table", () => {
  it("pins the role order the expectations below are derived from", () => {
    expect(ROLES).toEqual(ORDER);
  });

  it("gives every authenticated route of the operation table a fixture whose request fills its path and params", async () => {
    const w = await setupWorld();
    for (const route of AUTH_ROUTES) {
      const parts = await fixtureOf(route)(w);
      expect(Object.keys(parts.params ?? {}).sort(), label(route)).toEqual(
        Object.keys(route.params?.shape ?? {}).sort(),
      );
      expect(fillPath(route, parts.params)).not.toContain(":");
      expect(parts.body !== undefined, `${label(route)} body`).toBe(route.body !== undefined);
      if (route.query) expect(route.query.safeParse(parts.query ?? {}).success, label(route)).toBe(true);
    }
  });

  it("serves each operation through one route, and has no fixture without a route", () => {
    const served = AUTH_ROUTES.map((r) => r.operation as Operation);
    expect(new Set(served).size).toBe(served.length);
    for (const op of served) expect(Object.keys(OPERATIONS)).toContain(op);
    expect(Object.keys(FIXTURES).sort()).toEqual([...served].sort());
  });
});

const TIMEOUT = { timeout: 240_000 };
const ROUTE_CASES = AUTH_ROUTES.map((route) => [label(route), route] as const);

/** A GET cannot change state; only other methods pay for the before/after snapshots. */
const mayWrite = (route: RouteDef) => route.method !== "get";

// One world per route (not per role) keeps the suite affordable; each role's request is its own.
describe.each(ROUTE_CASES)("%s", TIMEOUT, (_name, route) => {
  const need = OPERATIONS[route.operation!];

  it(`is allowed for each role at least ${need}, refused with 403 below it, each refusal beside a positive control`, async () => {
    const w = await setupWorld();
    for (const role of ROLES) {
      const allowed = allows(role, need);
      // Owner-only targets belong to the token that is meant to succeed.
      const parts = await fixtureOf(route)(w, w.tokens[allowed ? role : need]);
      if (allowed) {
        expectSuccess(route, await callRoute(w, route, w.tokens[role], parts));
        continue;
      }
      const before = mayWrite(route) ? await snapshot(w) : null;
      const denied = await callRoute(w, route, w.tokens[role], parts);
      expect(expectError(denied, 403, "forbidden"), `as ${role}`).toBe(`this operation needs role ${need} or above`);
      if (before) expect(await snapshot(w), `as ${role}: refused request changed state`).toEqual(before);
      // Positive control: the very same request with the least allowed role succeeds.
      expectSuccess(route, await callRoute(w, route, w.tokens[need], parts));
    }
  });
});
