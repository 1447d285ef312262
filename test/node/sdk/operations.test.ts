import { describe, expect, it } from "vitest";
import { VaultClient } from "../../../sdk/index";
import { opRequest } from "../../../sdk/http";
import { ALL_ROUTES, OPERATION_TABLE, type OperationName } from "../../../worker/contract/operations";

/**
 * The SDK and the operation table (worker/contract/operations) agree: every operation has an SDK
 * call (or is exempt for a stated reason), and each call sends its own operation's method and
 * path. `CALLS` is typed by the table, so a new operation without an SDK call fails to compile.
 */

/** Operations the SDK leaves to other clients, each for a stated reason. */
const EXEMPT = {
  "system.bootstrap": "run once by an operator with the bootstrap secret (testing/, curl), never by a tenant's client",
  "ci.webhook_lease": "sent by CI systems that sign it with their own HMAC secret; the SDK holds no webhook secret",
} as const;

type Covered = Exclude<OperationName, keyof typeof EXEMPT>;

/** One SDK call per operation. Answers are refused by the fake fetch, so only the request matters. */
const CALLS: { [K in Covered]: (c: VaultClient) => Promise<unknown> } = {
  "system.health": (c) => c.system.health(),
  "system.ready": (c) => c.system.ready(),
  whoami: (c) => c.tokens.whoami(),
  "tokens.list": (c) => c.tokens.list({ limit: 5 }),
  "tokens.create": (c) => c.tokens.create({ name: "n", role: "viewer", identity: "agent:x" }),
  "tokens.get": (c) => c.tokens.get("tok_1"),
  "tokens.revoke": (c) => c.tokens.revoke("tok_1"),
  "sessions.create": (c) => c.sessions.create({ ttl: "10m" }),
  "sessions.revoke": (c) => c.sessions.revoke("tok_2"),
  "credentials.list": (c) => c.credentials.list(),
  "credentials.create": (c) => c.credentials.create({ name: "a/b", value: "v" }),
  "credentials.get": (c) => c.credentials.get("a/b"),
  "credentials.update": (c) => c.credentials.update("a/b", { description: "d" }),
  "credentials.rotate": (c) => c.credentials.rotate("a/b", "v2"),
  "credentials.versions": (c) => c.credentials.versions("a/b"),
  "credentials.delete": (c) => c.credentials.delete("a/b"),
  "acl.get": (c) => c.acl.get("a/b"),
  "acl.set": (c) => c.acl.set("a/b", { rules: [] }),
  "acl.check": (c) => c.usePolicies.check("a/b", "agent:x"),
  "leases.create": (c) => c.leases.create({ credential: "a/b" }),
  "leases.list": (c) => c.leases.list(),
  "leases.revoke_matching": (c) => c.leases.revokeMatching({ all: true }),
  "leases.get": (c) => c.leases.get("lease_1"),
  "leases.renew": (c) => c.leases.renew("lease_1", "5m"),
  "leases.revoke": (c) => c.leases.revoke("lease_1"),
  "access_requests.list": (c) => c.requests.list({ view: "mine" }),
  "access_requests.get": (c) => c.requests.get("areq_1"),
  "access_requests.approve": (c) => c.requests.approve("areq_1", "ok"),
  "access_requests.deny": (c) => c.requests.deny("areq_1", "no"),
  "access_requests.collect": (c) => c.requests.collect("areq_1"),
  "use.get": (c) => c.usePolicies.getPolicy("a/b"),
  "use.set": (c) =>
    c.usePolicies.setPolicy("a/b", {
      origins: ["https://api.example.com"],
      inject: { type: "header", name: "Authorization", template: "Bearer {value}" },
    }),
  "use.delete": (c) => c.usePolicies.deletePolicy("a/b"),
  "use.request": (c) => c.use("a/b").call("https://api.example.com/v1/x"),
  "teams.list": (c) => c.teams.list(),
  "teams.set": (c) => c.teams.set("crew", { members: ["agent:*"] }),
  "teams.delete": (c) => c.teams.delete("crew"),
  "audit.query": (c) => c.audit.query(),
  "audit.verify": (c) => c.audit.verify(),
  "audit.checkpoints": (c) => c.audit.checkpoints(),
  "audit.inclusion_proof": (c) => c.audit.inclusionProof({ seq: 1 }),
  "audit.consistency_proof": (c) => c.audit.consistencyProof({ old: 1 }),
  "audit.export": async (c) => {
    for await (const _line of c.audit.exportLines()) break;
  },
  "audit.public_key": (c) => c.audit.publicKey(),
  "incident.impact": (c) => c.incident.impact({ from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z" }),
  "oidc.list": (c) => c.oidc.list(),
  "oidc.create": (c) =>
    c.oidc.create({
      name: "gh",
      issuer: "https://token.actions.githubusercontent.com",
      audience: "vault",
      conditions: { repository_owner: "acme" },
      identity_template: "ci:github:{repository}",
      credentials: ["*"],
    }),
  "oidc.delete": (c) => c.oidc.delete("gh"),
  "webhooks.list": (c) => c.webhooks.list(),
  "webhooks.create": (c) => c.webhooks.create({ name: "hook", credentials: ["*"] }),
  "webhooks.delete": (c) => c.webhooks.delete("hook"),
  "ci.oidc_lease": (c) => c.ci.lease({ tenant_id: "t", token: "jwt", credentials: ["a/b"] }),
  "ci.oidc_revoke": (c) => c.ci.revoke({ tenant_id: "t", token: "jwt", lease_ids: [] }),
  "kek.status": (c) => c.admin.kekStatus(),
  "kek.rotate": (c) => c.admin.rotateKek(),
};

/** The table's path as a pattern over an encoded request path. */
const pathPattern = (path: string) => new RegExp(`^${path.replace(/:\w+/g, "[^/]+")}$`);

/** Sends one SDK call through a fetch that records the request and answers 418, and returns what was sent. */
async function sent(call: (c: VaultClient) => Promise<unknown>): Promise<{ method: string; path: string }> {
  const seen: { method: string; path: string }[] = [];
  const client = new VaultClient({
    url: "https://vault.example",
    token: "gv_api_t_x",
    retry: { maxRetries: 0 },
    fetch: async (input, init) => {
      seen.push({ method: init?.method ?? "GET", path: new URL(String(input)).pathname });
      return new Response(JSON.stringify({ error: { code: "teapot", message: "recorded", request_id: "r" } }), {
        status: 418,
      });
    },
  });
  await expect(call(client)).rejects.toMatchObject({ status: 418 });
  expect(seen).toHaveLength(1);
  return seen[0]!;
}

describe("the SDK and the operation table", () => {
  it("has an SDK call for every operation but the exempt ones, and no exemption for an operation that does not exist", () => {
    const names = Object.keys(OPERATION_TABLE).sort();
    expect([...Object.keys(CALLS), ...Object.keys(EXEMPT)].sort()).toEqual(names);
    expect(ALL_ROUTES.map((r) => r.name).sort()).toEqual(names);
  });

  it.each(Object.entries(CALLS))("%s: the SDK sends the table's method and path", async (name, call) => {
    const spec = OPERATION_TABLE[name as OperationName];
    const request = await sent(call);
    expect(request.method).toBe(spec.method.toUpperCase());
    expect(request.path).toMatch(pathPattern(spec.path));
  });

  it("encodes each path parameter as one segment (a name's '/' as %2F), and refuses a missing one", () => {
    expect(opRequest("credentials.rotate", { params: { ref: "prod/db" }, body: { value: "v" } })).toMatchObject({
      method: "POST",
      path: "/v1/credentials/prod%2Fdb/rotate",
      body: { value: "v" },
    });
    // Control: a complete call has no leftover ":param".
    expect(opRequest("leases.get", { params: { id: "lease_1" } }).path).toBe("/v1/leases/lease_1");
    expect(() => opRequest("leases.get", {})).toThrow(/no value for :id/);
  });
});
