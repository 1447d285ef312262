import { expect } from "vitest";
import { AUTH_ROUTES, type Operation, type RouteDef } from "../../../worker/contract/operations";
import { ROLES, type Role } from "../../../worker/contract/roles";
import {
  api,
  BASE,
  bootstrap,
  createCredential,
  expectStatus,
  makeToken,
  tokenWithRole,
  workerFetch,
} from "../helpers";

export { makeToken };

/** The parts of a request a fixture chooses; the path is filled from the route's pattern. */
export interface RequestParts {
  params?: Record<string, string>;
  query?: Record<string, string>;
  body?: unknown;
}

/** A freshly set-up tenant that fixtures draw their targets from. */
export interface World {
  tenantId: string;
  /** The bootstrap admin token; fixtures use it to make their own targets. */
  adminToken: string;
  /** One API token per role, made by the bootstrap admin, all for the same identity so leases are "own" for each. */
  tokens: Record<Role, string>;
  credential: { id: string; name: string };
  spareToken: { id: string; token: string };
  /** Credential values planted in this world: no response body may ever contain one. */
  secrets: string[];
}

/** A short random suffix for unique names. */
export const uid = (): string => crypto.randomUUID().replaceAll("-", "").slice(0, 12);

/** A distinctive credential value, remembered so every response can be checked for it. */
export function plant(w: World, label: string): string {
  const value = `PLANTED-${label}-${uid()}`;
  w.secrets.push(value);
  return value;
}

/** The identity every role token of a world acts as. */
export const MEMBER = "user:member@acme.test";

/** Leases the world's credential as its user-role token; returns the lease id (the value is not kept). */
export async function makeLease(w: World): Promise<string> {
  const res = await api(w.tokens.user, "POST", "/v1/leases", {
    credential: w.credential.id,
    ttl: "5m",
    purpose: "fixture target",
  });
  return (await expectStatus<{ lease: { id: string } }>(res, 201)).lease.id;
}

/** A use policy on the test upstream (test/workers/support/use-upstream.ts). */
const USE_POLICY = {
  origins: ["https://api.example.com"],
  inject: { type: "header", name: "Authorization", template: "Bearer {value}" },
};

/** Gives the world's credential a use policy (as the bootstrap admin); returns its ref. */
async function withUsePolicy(w: World): Promise<string> {
  await expectStatus(await api(w.adminToken, "PUT", `/v1/credentials/${w.credential.id}/use`, USE_POLICY), 200);
  return w.credential.id;
}

/**
 * Per world: a credential whose approve rules hold `agent:requester@fixture` (approved by a team of
 * MEMBER and the bootstrap admin's identity) and every `user:*@acme.test` (approved by admins).
 */
const approvalSetups = new WeakMap<World, Promise<{ credential: string; requester: string }>>();

function approvalSetup(w: World): Promise<{ credential: string; requester: string }> {
  let setup = approvalSetups.get(w);
  if (!setup) {
    setup = (async () => {
      const team = `approvers-${uid()}`;
      await expectStatus(
        await api(w.adminToken, "PUT", `/v1/teams/${team}`, { members: [MEMBER, "user:admin@acme.test"] }),
        200,
      );
      const credential = await createCredential(w.adminToken, `approval/${uid()}`, plant(w, "approval"));
      const rules = [
        { effect: "approve", identity: "agent:requester@fixture", approvers: { team } },
        { effect: "approve", identity: "user:*@acme.test", approvers: { role: "admin" } },
      ];
      await expectStatus(await api(w.adminToken, "PUT", `/v1/credentials/${credential.id}/acl`, { rules }), 200);
      const requester = await tokenWithRole(w.adminToken, "user", "agent:requester@fixture");
      return { credential: credential.id, requester };
    })();
    approvalSetups.set(w, setup);
  }
  return setup;
}

/**
 * A pending access request of the world by `agent:requester@fixture`, for the world's tokens to
 * see and decide; or, with `collector`, one made by that token and approved by an admin of another
 * identity, for it to collect.
 */
export async function makeAccessRequest(w: World, collector?: string): Promise<string> {
  const { credential, requester } = await approvalSetup(w);
  const ask = () => api(collector ?? requester, "POST", "/v1/leases", { credential, ttl: "5m", purpose: "fixture" });
  let res = await ask();
  // A request approved by an earlier call and not collected is collected by the retry (201): ask again.
  if (res.status === 201) res = await ask();
  const id = (await expectStatus<{ request: { id: string } }>(res, 202)).request.id;
  if (collector === undefined) return id;
  const { identity } = await expectStatus<{ identity: string }>(await api(collector, "GET", "/v1/whoami"), 200);
  // Nobody approves their own request: an admin of the other identity does.
  const approver = identity === MEMBER ? w.adminToken : w.tokens.admin;
  await expectStatus(await api(approver, "POST", `/v1/access-requests/${id}/approve`, { reason: "fixture" }), 200);
  return id;
}

/** Every authenticated operation's route, from the operation table (hand-written ones such as the audit export included). */
export { AUTH_ROUTES };

/** Bootstraps a tenant with a token per role, one credential and one spare token. */
export async function setupWorld(name = "acme"): Promise<World> {
  const { tenantId, adminToken } = await bootstrap(name);
  const tokens = {} as Record<Role, string>;
  for (const role of ROLES) tokens[role] = await tokenWithRole(adminToken, role, MEMBER);
  const w: World = {
    tenantId,
    adminToken,
    tokens,
    credential: { id: "", name: "" },
    spareToken: { id: "", token: "" },
    secrets: [],
  };
  w.credential = await createCredential(adminToken, `world/${name}-${uid()}`, plant(w, "world"));
  w.spareToken = await makeToken(adminToken, { role: "viewer", name: "spare" });
  return w;
}

/**
 * For every operation, a concrete valid request in a world, for the token `as` that will send it
 * (the bootstrap admin when not given: owner-only targets such as sessions are made by it). State-changing operations that
 * consume their target (delete, revoke) make a fresh one on each call, so every call of a
 * fixture can succeed once. Refs alternate between credential id and name to cover both.
 */
export type Fixture = (w: World, as?: string) => Promise<RequestParts>;

/** See above. Keyed by the operation table: a new operation without a fixture does not compile. */
export const FIXTURES: { readonly [op in Operation]: Fixture } = {
  whoami: async () => ({}),
  "credentials.list": async () => ({ query: { limit: "10" } }),
  "credentials.create": async (w) => ({
    body: {
      name: `fixture/${uid()}`,
      value: plant(w, "create"),
      description: "made by a fixture",
      tags: ["fixture"],
      default_ttl: "10m",
      max_ttl: "1h",
    },
  }),
  "credentials.get": async (w) => ({ params: { ref: w.credential.name } }),
  "credentials.update": async (w) => ({
    params: { ref: w.credential.id },
    body: { description: "updated", tags: ["u"], default_ttl: 300, max_ttl: "2h" },
  }),
  "credentials.rotate": async (w) => ({ params: { ref: w.credential.id }, body: { value: plant(w, "rotated") } }),
  "credentials.versions": async (w) => ({ params: { ref: w.credential.name } }),
  "credentials.delete": async (w) => ({
    params: { ref: (await createCredential(w.adminToken, `doomed/${uid()}`, plant(w, "doomed"))).id },
  }),
  "tokens.list": async () => ({ query: { limit: "10", include_revoked: "true" } }),
  "tokens.create": async () => ({
    body: { name: `fixture ${uid()}`, role: "viewer", identity: "agent:fixture@test", expires_in: "1h" },
  }),
  "tokens.get": async (w) => ({ params: { id: w.spareToken.id } }),
  "tokens.revoke": async (w) => ({ params: { id: (await makeToken(w.adminToken, { role: "viewer" })).id } }),
  "leases.create": async (w) => ({
    body: {
      credential: w.credential.name,
      ttl: "5m",
      purpose: "fixture",
      agent: { name: "claude-code", model: "m-1", client: "vitest" },
    },
  }),
  "leases.list": async () => ({ query: { limit: "10" } }),
  "leases.get": async (w) => ({ params: { id: await makeLease(w) } }),
  "leases.renew": async (w) => ({ params: { id: await makeLease(w) }, body: { ttl: "10m" } }),
  "leases.revoke": async (w) => ({ params: { id: await makeLease(w) } }),
  "leases.revoke_matching": async (w) => ({ body: { credential: w.credential.id, reason: "fixture" } }),
  "audit.query": async () => ({ query: { limit: "10" } }),
  "audit.verify": async () => ({ query: { from_seq: "1" } }),
  "audit.checkpoints": async () => ({}),
  "audit.inclusion_proof": async () => ({ query: { seq: "1" } }),
  "audit.consistency_proof": async () => ({ query: { old: "1" } }),
  "audit.export": async () => ({}),
  "incident.impact": async () => ({
    query: { from: new Date(Date.now() - 3_600_000).toISOString(), to: new Date(Date.now() + 60_000).toISOString() },
  }),
  "acl.get": async (w) => ({ params: { ref: w.credential.id } }),
  "acl.set": async (w) => ({
    params: { ref: w.credential.name },
    body: { rules: [{ effect: "allow", identity: "user:*" }], agent_visible: false },
  }),
  "sessions.create": async () => ({ body: { ttl: "10m", role: "viewer", name: `session ${uid()}` } }),
  "sessions.revoke": async (w, as) => {
    const res = await api(as ?? w.adminToken, "POST", "/v1/sessions", { ttl: "10m", role: "viewer" });
    return { params: { id: (await expectStatus<{ id: string }>(res, 201)).id } };
  },
  "oidc.list": async () => ({}),
  "oidc.create": async () => ({
    body: {
      name: `gh-${uid()}`,
      issuer: "https://token.actions.githubusercontent.com",
      audience: "vault",
      jwks_uri: "https://token.actions.githubusercontent.com/.well-known/jwks",
      conditions: { repository_owner: "acme" },
      identity_template: "ci:github:{repository}@{ref}",
      role: "user",
      credentials: ["world/*"],
      max_ttl: "10m",
    },
  }),
  "oidc.delete": async (w) => ({ params: { ref: (await makeVia(w, "oidc.create", "/v1/oidc/trusts")).id } }),
  "webhooks.list": async () => ({}),
  "webhooks.create": async () => ({ body: { name: `hook-${uid()}`, credentials: ["world/*"], max_ttl: "10m" } }),
  "webhooks.delete": async (w) => ({ params: { ref: (await makeVia(w, "webhooks.create", "/v1/webhooks")).name } }),
  "acl.check": async (w) => ({ params: { ref: w.credential.id }, query: { identity: MEMBER, permission: "use" } }),
  "use.get": async (w) => ({ params: { ref: await withUsePolicy(w) } }),
  "use.set": async (w) => ({ params: { ref: w.credential.name }, body: USE_POLICY }),
  "use.delete": async (w) => ({ params: { ref: await withUsePolicy(w) } }),
  "use.request": async (w) => ({
    params: { ref: await withUsePolicy(w) },
    body: { method: "GET", url: "https://api.example.com/v1/echo", purpose: "fixture" },
  }),
  "teams.list": async () => ({}),
  "teams.set": async () => ({ params: { name: `crew-${uid()}` }, body: { members: ["agent:*", MEMBER] } }),
  "teams.delete": async (w) => {
    const name = `doomed-${uid()}`;
    await expectStatus(await api(w.adminToken, "PUT", `/v1/teams/${name}`, { members: [MEMBER] }), 200);
    return { params: { name } };
  },
  "access_requests.list": async () => ({ query: { view: "queue", limit: "10" } }),
  "access_requests.get": async (w) => ({ params: { id: await makeAccessRequest(w) } }),
  "access_requests.approve": async (w) => ({ params: { id: await makeAccessRequest(w) }, body: { reason: "fixture" } }),
  "access_requests.deny": async (w) => ({ params: { id: await makeAccessRequest(w) }, body: { reason: "fixture" } }),
  "access_requests.collect": async (w, as) => ({ params: { id: await makeAccessRequest(w, as ?? w.tokens.user) } }),
  "kek.status": async () => ({}),
  "kek.rotate": async () => ({}),
};

/** What a path parameter names, so isolation tests know which foreign ids to try. */
export type ParamKind = "credential" | "token" | "lease" | "trust" | "webhook" | "team" | "access_request";

const PARAM_KINDS: [RegExp, ParamKind][] = [
  [/^\/v1\/credentials\/:ref(\/|$)/, "credential"],
  [/^\/v1\/(tokens|sessions)\/:id(\/|$)/, "token"],
  [/^\/v1\/leases\/:id(\/|$)/, "lease"],
  [/^\/v1\/oidc\/trusts\/:ref(\/|$)/, "trust"],
  [/^\/v1\/webhooks\/:ref(\/|$)/, "webhook"],
  [/^\/v1\/teams\/:name(\/|$)/, "team"],
  [/^\/v1\/access-requests\/:id(\/|$)/, "access_request"],
];

/** The kind of `route`'s parameter; throws for a route no kind fits (a new one needs a line above). */
export function paramKind(route: RouteDef, name: string): ParamKind {
  const kind = PARAM_KINDS.find(([re]) => re.test(route.path) && route.path.includes(`:${name}`))?.[1];
  if (!kind) throw new Error(`cannot tell what :${name} of ${route.path} names: add it to PARAM_KINDS`);
  return kind;
}

/** Creates a thing with the create fixture `op` as the bootstrap admin; returns its id and name. */
export async function makeVia(w: World, op: Operation, path: string): Promise<{ id: string; name: string }> {
  const res = await api(w.adminToken, "POST", path, (await FIXTURES[op]!(w)).body);
  const made = await expectStatus<{ id?: string; name?: string; webhook?: { id: string; name: string } }>(res, 201);
  return made.webhook ?? { id: made.id!, name: made.name! };
}

/** The fixture of an authenticated route; throws (failing the test) when there is none. */
export function fixtureOf(route: RouteDef): Fixture {
  const fixture: Fixture | undefined = route.operation ? FIXTURES[route.operation] : undefined;
  if (!fixture)
    throw new Error(
      `no fixture for ${route.method.toUpperCase()} ${route.path} (operation ${route.operation}): add one to FIXTURES`,
    );
  return fixture;
}

/** The route's path with its `:params` filled in (URL-encoded). */
export function fillPath(route: RouteDef, params: Record<string, string> = {}): string {
  return route.path.replace(/:(\w+)/g, (_m, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`no value for :${name} in ${route.path}`);
    return encodeURIComponent(value);
  });
}

/** A response read once: status, headers, text and parsed JSON (or null). */
export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

/** The parsed body of a reply as `T`: tests assert what they read from it. */
export const bodyOf = <T = Record<string, unknown>>(r: Reply): T => r.json as T;

/** The error body every failing response carries. */
export interface ErrorJson {
  error: { code: string; message: string; request_id: string };
}

/** Options for a raw request. */
export interface SendOptions {
  token?: string | null;
  query?: Record<string, string>;
  /** A JSON body (serialised) ... */
  body?: unknown;
  /** ... or a raw body sent as is. */
  rawBody?: BodyInit;
  headers?: Record<string, string>;
  /** Set for the one response that may carry a value: a lease's. */
  valueAllowed?: boolean;
}

/** Sends a request and checks that its response leaks none of the world's planted values. */
export async function send(w: World | null, method: string, path: string, opts: SendOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: BodyInit | undefined = opts.rawBody;
  if (opts.body !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(opts.body);
  }
  Object.assign(headers, opts.headers);
  const qs = opts.query ? `?${new URLSearchParams(opts.query)}` : "";
  const res = await workerFetch(`${BASE}${path}${qs}`, { method: method.toUpperCase(), headers, body });
  const text = await res.text();
  const secrets = opts.valueAllowed && res.status === 201 ? [] : (w?.secrets ?? []);
  for (const secret of secrets) expect(text, `${method} ${path} leaked a credential value`).not.toContain(secret);
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** Sends a route's request as `token`. */
export function callRoute(
  w: World,
  route: RouteDef,
  token: string | null,
  parts: RequestParts,
  extra: SendOptions = {},
): Promise<Reply> {
  const valueAllowed = route.operation === "leases.create" || route.operation === "access_requests.collect";
  return send(w, route.method, fillPath(route, parts.params), {
    token,
    query: parts.query,
    body: parts.body,
    valueAllowed,
    ...extra,
  });
}

/** Asserts the route's success status and, for a body, that it matches the route's response schema. */
export function expectSuccess(route: RouteDef, r: Reply): void {
  expect(r.status, `${route.method.toUpperCase()} ${route.path}: ${r.text}`).toBe(route.status);
  if (route.response === null) {
    if (route.status === 204) expect(r.text).toBe("");
    return;
  }
  const parsed = route.response.safeParse(r.json);
  expect(parsed.success, `${route.path} response does not match its schema: ${r.text}`).toBe(true);
}

/** Asserts the project's error body with `status` and `code`; returns the message. */
export function expectError(r: Reply, status: number, code: string): string {
  expect(r.status, r.text).toBe(status);
  expect(r.json, r.text).toEqual({ error: { code, message: expect.any(String), request_id: expect.any(String) } });
  const { error } = bodyOf<ErrorJson>(r);
  expect(error.request_id).toBe(r.headers.get("x-request-id"));
  return error.message;
}

/** A label for a route in test names. */
export const label = (route: RouteDef): string =>
  `${route.method.toUpperCase()} ${route.path} (${route.operation ?? "public"})`;

/**
 * Everything observable about a world's state through the API: credentials with their
 * versions, tokens (revoked ones included), leases and KEK versions. Equal snapshots mean
 * nothing changed. Fields a background KEK sweep moves on its own (wrapped DEKs' KEK version,
 * sweep progress, destroyed old KEKs) are left out, so a sweep from an earlier rotation is not
 * mistaken for a change made by the request under test.
 */
export async function snapshot(w: World): Promise<unknown> {
  const token = w.adminToken;
  const creds = await send(w, "get", "/v1/credentials", { token, query: { limit: "100" } });
  expect(creds.status, creds.text).toBe(200);
  const items = bodyOf<{ items: { id: string }[] }>(creds).items;
  const versions = [];
  for (const c of items) {
    const list = bodyOf<{ items: { kek_version?: number }[] }>(
      await send(w, "get", `/v1/credentials/${c.id}/versions`, { token }),
    );
    versions.push(list.items.map(({ kek_version: _k, ...v }) => v));
  }
  const tokens = await send(w, "get", "/v1/tokens", { token, query: { limit: "100", include_revoked: "true" } });
  const kek = bodyOf<{ active_version: number; versions: { version: number }[] }>(
    await send(w, "get", "/v1/admin/kek", { token }),
  );
  const leases = await send(w, "get", "/v1/leases", { token, query: { limit: "100" } });
  return {
    credentials: creds.json,
    versions,
    tokens: tokens.json,
    kek: [kek.active_version, kek.versions.map((v) => v.version)],
    leases: leases.json,
  };
}
