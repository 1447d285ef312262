import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { ALL_ROUTES } from "../../../worker/contract/operations";
import type { RouteDef } from "../../../worker/contract/operations";
import {
  AUTH_ROUTES,
  callRoute,
  expectError,
  expectSuccess,
  fillPath,
  fixtureOf,
  label,
  send,
  setupWorld,
  snapshot,
  uid,
  type RequestParts,
  type World,
} from "./route-fixtures";

const TIMEOUT = { timeout: 300_000 };

/** Valid requests for the public routes with a body, and the headers they need. */
const PUBLIC_BODY_FIXTURES: Record<string, { parts: () => RequestParts; headers: () => Record<string, string> }> = {
  "/v1/bootstrap": {
    parts: () => ({ body: { tenant_name: `t-${uid()}`, admin_identity: "user:root@acme.test" } }),
    headers: () => ({ "x-bootstrap-secret": env.BOOTSTRAP_SECRET }),
  },
};

/** A valid request for any route with a body, with the token or headers it needs. */
async function validRequest(
  route: RouteDef,
  w: World,
): Promise<{ parts: RequestParts; token: string | null; headers: Record<string, string> }> {
  if (route.operation) return { parts: await fixtureOf(route)(w), token: w.tokens.admin, headers: {} };
  const fixture = PUBLIC_BODY_FIXTURES[route.path];
  if (!fixture) throw new Error(`no fixture for public route ${label(route)}: add one to PUBLIC_BODY_FIXTURES`);
  return { parts: fixture.parts(), token: null, headers: fixture.headers() };
}

/** The fields of an object body schema. */
function shapeOf(route: RouteDef): Record<string, z.ZodType> {
  const shape = (route.body as unknown as { shape?: Record<string, z.ZodType> }).shape;
  if (!shape) throw new Error(`${label(route)}: body is not an object schema`);
  return shape;
}

// The CI entry points authenticate by an OIDC token in the body or a signature over the raw body,
// so their bad-input cases need a trust policy or a signer: test/workers/ci/bad-input.test.ts.
const BODY_ROUTES = ALL_ROUTES.filter((r) => r.body !== undefined && !r.path.startsWith("/v1/ci/"));
const PARAM_ROUTES = AUTH_ROUTES.filter((r) => r.params !== undefined);
const QUERY_ROUTES = AUTH_ROUTES.filter((r) => r.query !== undefined);

describe.each(BODY_ROUTES.map((r) => [label(r), r] as const))("%s body", TIMEOUT, (_name, route) => {
  it("refuses bad JSON, media types, shapes, unknown, mistyped and missing fields and oversize bodies; nothing changes; the valid body succeeds", async () => {
    const w = await setupWorld();
    const { parts, token, headers } = await validRequest(route, w);
    const body = parts.body as Record<string, unknown>;
    const path = fillPath(route, parts.params);
    const raw = (rawBody: string, type: string | null) =>
      send(w, route.method, path, {
        token,
        query: parts.query,
        rawBody,
        headers: { ...headers, ...(type ? { "content-type": type } : {}) },
      });
    const json = (b: unknown) => raw(JSON.stringify(b), "application/json");
    const before = await snapshot(w);

    for (const bad of ["{", "", '{"a":', "nul", "{'a': 1}"])
      expectError(await raw(bad, "application/json"), 400, "invalid_json");
    expectError(await raw(JSON.stringify(body), "text/plain"), 415, "unsupported_media_type");
    expectError(await raw(JSON.stringify(body), "application/x-www-form-urlencoded"), 415, "unsupported_media_type");
    expectError(await raw(JSON.stringify(body), null), 415, "unsupported_media_type");
    for (const notObject of [[], "x", 1, null, true]) expectError(await json(notObject), 400, "validation_failed");
    expect(expectError(await json({ ...body, bogus_field: 1 }), 400, "validation_failed")).toContain("bogus_field");
    const shape = shapeOf(route);
    for (const key of Object.keys(shape)) {
      expect(
        expectError(await json({ ...body, [key]: { nested: [1] } }), 400, "validation_failed"),
        `wrong type for ${key}`,
      ).toContain(key);
      if (shape[key]!.safeParse(undefined).success) continue;
      const { [key]: _dropped, ...missing } = body;
      expect(expectError(await json(missing), 400, "validation_failed"), `missing ${key}`).toContain(key);
    }
    if (!route.body!.safeParse({}).success) expectError(await json({}), 400, "validation_failed");
    const huge = JSON.stringify({ ...body, padding: "x".repeat(513 * 1024) });
    expectError(await raw(huge, "application/json"), 413, "payload_too_large");
    const stream = new Blob([huge]).stream();
    const chunked = await send(w, route.method, path, {
      token,
      rawBody: stream,
      headers: { ...headers, "content-type": "application/json" },
    });
    expect([413, 400], chunked.text).toContain(chunked.status);
    expect(await snapshot(w)).toEqual(before);

    // Positive control: the valid request, as is.
    expectSuccess(route, await callRoute(w, route, token, parts, { headers }));
  });
});

describe.each(PARAM_ROUTES.map((r) => [label(r), r] as const))("%s path parameters", TIMEOUT, (_name, route) => {
  it("answers malformed or unknown ids with a 4xx error body (400 when the id is malformed, else 404); nothing changes", async () => {
    const w = await setupWorld();
    const parts = await fixtureOf(route)(w);
    const before = await snapshot(w);
    const candidates = [
      "cred_xyz",
      "tok_xyz",
      "lease_xyz",
      `cred_${"g".repeat(24)}`,
      "x".repeat(300),
      "../x",
      "a//b",
      "-lead",
      " ",
      "a b",
      "%00",
    ];
    for (const name of Object.keys(route.params!.shape)) {
      for (const value of candidates) {
        const params = { ...parts.params, [name]: value };
        const malformed = !route.params!.safeParse(params).success;
        const r = await callRoute(w, route, w.tokens.admin, { ...parts, params });
        if (malformed) expect(expectError(r, 400, "validation_failed"), value).toMatch(/path|ref|id|name/);
        // PUT /v1/teams/:name creates the team a well-formed name names: there is no unknown one.
        else if (route.operation === "teams.set") expectSuccess(route, r);
        else expectError(r, 404, "not_found");
      }
    }
    expect(await snapshot(w)).toEqual(before);
    expectSuccess(route, await callRoute(w, route, w.tokens.admin, parts));
  });
});

describe.each(QUERY_ROUTES.map((r) => [label(r), r] as const))("%s query", TIMEOUT, (_name, route) => {
  it("refuses unknown parameters and out-of-range or mistyped values with 400; nothing changes; the valid query succeeds", async () => {
    const w = await setupWorld();
    const parts = await fixtureOf(route)(w);
    const before = await snapshot(w);
    const query = (q: Record<string, string>) =>
      callRoute(w, route, w.tokens.admin, { ...parts, query: { ...parts.query, ...q } });
    expect(expectError(await query({ bogus_param: "1" }), 400, "validation_failed")).toContain("bogus_param");
    const shape = route.query!.shape as Record<string, z.ZodType>;
    if ("limit" in shape) {
      for (const limit of ["0", "abc", "1.5", "100000"])
        expect(expectError(await query({ limit }), 400, "validation_failed"), `limit=${limit}`).toContain("limit");
      expectSuccess(route, await query({ limit: "1" }));
    }
    // Whatever the schema refuses, the route refuses with a 400 naming the parameter (never a 500).
    for (const key of Object.keys(shape)) {
      for (const value of ["abc", "0", "x".repeat(300)]) {
        const q = { ...parts.query, [key]: value };
        if (route.query!.safeParse(q).success) continue;
        expect(expectError(await query({ [key]: value }), 400, "validation_failed"), `${key}=${value}`).toContain(key);
      }
    }
    expect(await snapshot(w)).toEqual(before);
    expectSuccess(route, await callRoute(w, route, w.tokens.admin, parts));
  });
});

describe("bootstrap secret", TIMEOUT, () => {
  it("a wrong or missing X-Bootstrap-Secret is refused with 401; the right one creates a tenant", async () => {
    const body = { tenant_name: "secretless", admin_identity: "user:root@acme.test" };
    for (const headers of [
      {} as Record<string, string>,
      { "x-bootstrap-secret": "" },
      { "x-bootstrap-secret": "wrong" },
      { "x-bootstrap-secret": `${env.BOOTSTRAP_SECRET}x` },
      { "x-bootstrap-secret": env.BOOTSTRAP_SECRET.slice(0, -1) },
    ]) {
      const r = await send(null, "post", "/v1/bootstrap", { body, headers });
      expectError(r, 401, "unauthorized");
      expect(r.text).not.toContain(env.BOOTSTRAP_SECRET);
    }
    // The secret is checked before the body is even read.
    expectError(
      await send(null, "post", "/v1/bootstrap", { rawBody: "{", headers: { "content-type": "application/json" } }),
      401,
      "unauthorized",
    );
    const ok = await send(null, "post", "/v1/bootstrap", {
      body,
      headers: { "x-bootstrap-secret": env.BOOTSTRAP_SECRET },
    });
    expect(ok.status, ok.text).toBe(201);
  });
});
