/**
 * Issue 9 §5: a lone surrogate (sent as a `\ud800` JSON escape), a control character or any other
 * code point in any body or query field of any route never answers 5xx; an ill-formed string is a
 * 400 `validation_failed` naming the field, and the same request with a well-formed value is the
 * positive control. Requests are bounded: one world for the file, a few strings per field.
 */
import { env } from "cloudflare:test";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import type { z } from "zod";
import { signWebhook } from "../../../worker/core/federation/webhook-signature";
import { ALL_ROUTES } from "../../../worker/contract/operations";
import type { RouteDef } from "../../../worker/contract/operations";
import {
  callRoute,
  expectError,
  fillPath,
  fixtureOf,
  label,
  makeToken,
  MEMBER,
  send,
  setupWorld,
  uid,
  type Reply,
  type RequestParts,
  type World,
} from "./route-fixtures";

const NASTY = [
  "\ud800",
  "\udfff",
  "\udc00\ud800",
  "\u0000",
  "\u001b[2J",
  "\u0085",
  "\u202e",
  "\ufeff",
  "\uffff",
  "😀",
  "\u{10ffff}",
  "%ED%A0%80",
  "\\ud800",
];
const fuzzString = fc
  .array(fc.oneof(fc.constantFrom(...NASTY), fc.string({ unit: "binary", maxLength: 4 })), {
    minLength: 1,
    maxLength: 5,
  })
  .map((a) => a.join(""));
/** Random strings per field, beside the deterministic lone surrogate: keeps the file to a few hundred requests. */
const PER_FIELD = 2;

let w: World;
beforeAll(async () => {
  w = await setupWorld("fuzz");
}, 120_000);

/** A valid request for a route: its fixture, or for the public routes one written here. */
async function validRequest(
  route: RouteDef,
): Promise<{ parts: RequestParts; token: string | null; headers: Record<string, string> }> {
  // A fresh admin token per call keeps each route's requests under the per-token rate limit.
  if (route.operation)
    return {
      parts: await fixtureOf(route)(w),
      token: (await makeToken(w.adminToken, { role: "admin", identity: MEMBER })).token,
      headers: {},
    };
  if (route.path === "/v1/bootstrap") {
    return {
      parts: { body: { tenant_name: `t-${uid()}`, admin_identity: "user:root@acme.test" } },
      token: null,
      headers: { "x-bootstrap-secret": env.BOOTSTRAP_SECRET },
    };
  }
  // POST /v1/ci/leases: an unsigned token is refused (401), but only after the body is read.
  return {
    parts: {
      body: {
        tenant_id: w.tenantId,
        token: "e30.e30.e30",
        credentials: ["world/x"],
        purpose: "ci",
        agent: { name: "runner" },
      },
    },
    token: null,
    headers: {},
  };
}

/** Paths of every string leaf of `value`, plus top-level `extra` keys it lacks. */
function stringPaths(value: unknown, extra: string[] = []): string[][] {
  const out: string[][] = [];
  const walk = (v: unknown, path: string[]) => {
    if (typeof v === "string") out.push(path);
    else if (typeof v === "object" && v !== null) for (const [k, m] of Object.entries(v)) walk(m, [...path, k]);
  };
  walk(value, []);
  const top = typeof value === "object" && value !== null ? Object.keys(value) : [];
  for (const key of extra) if (!top.includes(key)) out.push([key]);
  return out;
}

/** A deep copy of `value` with the string at `path` replaced. */
function withString(value: unknown, path: string[], s: string): unknown {
  const copy = structuredClone(value ?? {}) as Record<string, unknown>;
  let at: Record<string, unknown> = copy;
  for (const key of path.slice(0, -1)) at = at[key] as Record<string, unknown>;
  at[path[path.length - 1]!] = s;
  return copy;
}

const keysOf = (schema: z.ZodType | undefined): string[] =>
  Object.keys((schema as unknown as { shape?: object } | undefined)?.shape ?? {});

function expectNo5xx(route: RouteDef, r: Reply, sent: string): void {
  expect(r.status, `${label(route)} with ${JSON.stringify(sent)}: ${r.text}`).toBeLessThan(500);
}

// The webhook entry point takes its body as signed text; it has its own case below.
const BODY_ROUTES = ALL_ROUTES.filter((r) => r.body !== undefined && r.path !== "/v1/ci/webhooks/:tenant/:name/leases");
const QUERY_ROUTES = ALL_ROUTES.filter((r) => r.query !== undefined);

describe.each(BODY_ROUTES.map((r) => [label(r), r] as const))("%s", (_name, route) => {
  it("body fields: a lone surrogate is a 400 naming the field (control: a well-formed value is not); arbitrary strings never 5xx", {
    timeout: 120_000,
  }, async () => {
    const { parts, token, headers } = await validRequest(route);
    const samples = fc.sample(fuzzString, { numRuns: 50, seed: 9 });
    let n = 0;
    for (const path of stringPaths(parts.body, keysOf(route.body))) {
      const at = path.join(".");
      const bad = await callRoute(
        w,
        route,
        token,
        { ...parts, body: withString(parts.body, path, "x\ud800y") },
        { headers },
      );
      expect(expectError(bad, 400, "validation_failed")).toContain(`${at}: must be well-formed Unicode`);
      // Fresh parts: a create fixture names a new thing each time.
      const fresh = (await validRequest(route)).parts;
      const control = await callRoute(
        w,
        route,
        token,
        { ...fresh, body: withString(fresh.body, path, "x\ud83d\ude00y") },
        { headers },
      );
      expectNo5xx(route, control, "x😀y");
      expect(control.text).not.toContain("well-formed");
      for (let i = 0; i < PER_FIELD; i++) {
        const s = samples[n++ % samples.length]!;
        expectNo5xx(
          route,
          await callRoute(w, route, token, { ...parts, body: withString(parts.body, path, s) }, { headers }),
          s,
        );
      }
    }
  });
});

describe.each(QUERY_ROUTES.map((r) => [label(r), r] as const))("%s", (_name, route) => {
  it("query fields: arbitrary strings (surrogates arrive as U+FFFD or raw %-escapes) never 5xx", {
    timeout: 120_000,
  }, async () => {
    const { parts, token, headers } = await validRequest(route);
    const samples = fc.sample(fuzzString, { numRuns: 50, seed: 5 });
    let n = 0;
    for (const key of keysOf(route.query)) {
      for (let i = 0; i < PER_FIELD; i++) {
        const s = samples[n++ % samples.length]!;
        expectNo5xx(
          route,
          await callRoute(w, route, token, { ...parts, query: { ...parts.query, [key]: s } }, { headers }),
          s,
        );
      }
      // A raw, undecodable escape in the URL itself.
      const raw = await send(w, route.method, `${fillPath(route, parts.params)}?${key}=%ED%A0%80`, { token, headers });
      expectNo5xx(route, raw, "%ED%A0%80");
    }
  });
});

describe("signed webhook body", () => {
  it("a lone surrogate in a signed body is a 400 naming the field (control: a well-formed purpose leases)", async () => {
    const created = (
      await send(w, "post", "/v1/webhooks", {
        token: w.adminToken,
        body: { name: `hook-${uid()}`, credentials: ["world/*"] },
      })
    ).json as { webhook: { name: string }; secret: string };
    const post = async (purpose: string) => {
      const body = JSON.stringify({ credentials: [w.credential.name], ttl: "5m", purpose });
      const ts = Math.floor(Date.now() / 1000);
      const headers = {
        "content-type": "application/json",
        "x-vault-timestamp": String(ts),
        "x-vault-signature": await signWebhook(created.secret, ts, body),
      };
      return send(w, "post", `/v1/ci/webhooks/${w.tenantId}/${created.webhook.name}/leases`, {
        rawBody: body,
        headers,
        valueAllowed: true,
      });
    };
    expect((await post("deploy")).status).toBe(201);
    expect(expectError(await post("x\ud800"), 400, "validation_failed")).toContain(
      "purpose: must be well-formed Unicode",
    );
  });
});
