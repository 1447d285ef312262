import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { expect } from "vitest";
import type { Role } from "../../worker/contract/roles";
import { VaultClient } from "../../sdk/index";
import worker from "../../worker/index";

/** Base URL used for requests to the Worker under test. */
export const BASE = "https://vault.test";

/**
 * Sends a request to the Worker's fetch handler in this isolate, with the test bindings, and waits
 * for its `waitUntil` work. Use this, never `SELF.fetch`: in @cloudflare/vitest-pool-workers 0.15
 * every `SELF.fetch` wraps a shared prototype in one more Proxy, so each request costs more than the
 * last (4 ms to 220 ms within 800 requests of one file); this call stays flat. See docs/testing.md.
 */
export async function workerFetch(url: string, init?: RequestInit): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(url, init), env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

/** A JSON request to the Worker with an optional bearer token. */
export async function api(token: string | null, method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  return workerFetch(`${BASE}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** The JSON body of a response that must have `status`; fails the test with the body otherwise. */
export async function expectStatus<T = Record<string, unknown>>(res: Response, status: number): Promise<T> {
  const text = await res.text();
  expect(res.status, `${res.status} ${text}`).toBe(status);
  return (text ? JSON.parse(text) : null) as T;
}

/** Creates a tenant through the bootstrap endpoint; returns its id and admin token. */
export async function bootstrap(name = "acme"): Promise<{ tenantId: string; adminToken: string }> {
  const res = await workerFetch(`${BASE}/v1/bootstrap`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-bootstrap-secret": env.BOOTSTRAP_SECRET },
    body: JSON.stringify({ tenant_name: name, admin_identity: "user:admin@acme.test" }),
  });
  const body = await expectStatus<{ tenant: { id: string }; admin_token: { token: string } }>(res, 201);
  return { tenantId: body.tenant.id, adminToken: body.admin_token.token };
}

/** The error body every failing response carries, as tests read it (worker/contract/errors.ts `ErrorBody`). */
export type ErrorBody = { error: { code: string; message: string; request_id: string } };

/** What POST /v1/tokens takes; role and identity default to an admin acting as `user:<role>@acme.test`. */
export interface TokenRequest {
  role?: Role;
  identity?: string;
  name?: string;
  expires_in?: number | string;
}

/** Creates an API token with an admin token; the request must succeed. Returns its id and the token itself. */
export async function makeToken(
  adminToken: string,
  request: TokenRequest = {},
): Promise<{ token: string; id: string }> {
  const role = request.role ?? "admin";
  const identity = request.identity ?? `user:${role}@acme.test`;
  const res = await api(adminToken, "POST", "/v1/tokens", { name: `${role} token`, ...request, role, identity });
  return expectStatus<{ token: string; id: string }>(res, 201);
}

/** Creates an API token with `role` using an admin token; returns the token only. */
export async function tokenWithRole(
  adminToken: string,
  role: Role,
  identity = `user:${role}@acme.test`,
): Promise<string> {
  return (await makeToken(adminToken, { role, identity })).token;
}

/** Creates a credential; returns its metadata. */
export async function createCredential(
  token: string,
  name: string,
  value = `value-of-${name}`,
): Promise<{ id: string; name: string }> {
  const res = await api(token, "POST", "/v1/credentials", { name, value });
  return expectStatus<{ id: string; name: string }>(res, 201);
}

/** The SDK's client over `workerFetch` (the SDK calls fetch with a URL string and an init). */
export function sdkClient(token: string): VaultClient {
  return new VaultClient({ url: BASE, token, fetch: (input, init) => workerFetch(String(input), init) });
}
