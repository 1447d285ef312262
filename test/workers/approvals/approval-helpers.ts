import { expect } from "vitest";
import { api, bootstrap, createCredential, expectStatus, makeToken, type ErrorBody } from "../helpers";

/** An access request as the API shows it. */
export interface RequestBody {
  id: string;
  credential_id: string;
  credential_name: string;
  identity: string;
  status: "pending" | "approved" | "denied" | "expired" | "collected";
  approvers: { role?: string; team?: string };
  ttl: number;
  expires_at: string;
  decided_by: string | null;
  reason: string | null;
  lease_id: string | null;
}

/** A tenant with an approve rule: agents need approval by team `approvers` (alice); bob is in no team. */
export interface ApprovalWorld {
  tenantId: string;
  admin: string;
  /** user role, agent:bot@host: needs approval. */
  agent: string;
  agentId: string;
  /** user role, member of the approvers team. */
  alice: string;
  /** user role, in no team. */
  bob: string;
  manager: string;
  team: string;
  credential: { id: string; name: string };
  value: string;
}

const uid = (): string => crypto.randomUUID().slice(0, 8);

/** Bootstraps a tenant, its people and a credential whose ACL holds agents' leases for approval. */
export async function approvalWorld(
  approvers: { role?: string; team?: string } | "team" = "team",
): Promise<ApprovalWorld> {
  const { tenantId, adminToken: admin } = await bootstrap(`jit-${uid()}`);
  const team = `approvers-${uid()}`;
  await expectStatus(await api(admin, "PUT", `/v1/teams/${team}`, { members: ["user:alice@acme.test"] }), 200);
  const agentToken = await makeToken(admin, { role: "user", identity: "agent:bot@host" });
  const alice = (await makeToken(admin, { role: "user", identity: "user:alice@acme.test" })).token;
  const bob = (await makeToken(admin, { role: "user", identity: "user:bob@acme.test" })).token;
  const manager = (await makeToken(admin, { role: "manager", identity: "user:mgr@acme.test" })).token;
  const value = `JIT-SECRET-${uid()}`;
  const credential = await createCredential(admin, `jit/${uid()}`, value);
  await expectStatus(
    await api(admin, "PATCH", `/v1/credentials/${credential.id}`, { default_ttl: "10m", max_ttl: "1h" }),
    200,
  );
  const rule = { effect: "approve", identity: "agent:*", approvers: approvers === "team" ? { team } : approvers };
  await expectStatus(await api(admin, "PUT", `/v1/credentials/${credential.id}/acl`, { rules: [rule] }), 200);
  return {
    tenantId,
    admin,
    agent: agentToken.token,
    agentId: agentToken.id,
    alice,
    bob,
    manager,
    team,
    credential,
    value,
  };
}

/** Asks for a lease that an approve rule holds: must answer 202 with a pending request and no value. */
export async function requestLease(token: string, body: Record<string, unknown>): Promise<RequestBody> {
  const res = await api(token, "POST", "/v1/leases", body);
  const text = await res.text();
  expect(res.status, text).toBe(202);
  const parsed = JSON.parse(text) as { request: RequestBody };
  expect(Object.keys(parsed)).toEqual(["request"]);
  return parsed.request;
}

/** POSTs a decision; returns the response for the caller to check. */
export function decide(
  token: string,
  id: string,
  verb: "approve" | "deny",
  body: Record<string, unknown> = verb === "deny" ? { reason: "not now" } : {},
): Promise<Response> {
  return api(token, "POST", `/v1/access-requests/${id}/${verb}`, body);
}

/** Expects an error response with `status` and `code`; returns its message. */
export async function expectError(res: Response, status: number, code: string): Promise<string> {
  const body = await expectStatus<ErrorBody>(res, status);
  expect(body.error.code).toBe(code);
  return body.error.message;
}
