import { describe, expect, it } from "vitest";
import { api, expectStatus } from "../helpers";
import { auditOfType, listAll, type LeaseBody } from "../leases/lease-helpers";
import { approvalWorld, decide, expectError, requestLease, type RequestBody } from "./approval-helpers";

type Collected = { lease: LeaseBody; value: string };

describe("access requests: request, approve, collect", () => {
  it("holds an agent's lease for approval (202, no value, no lease), queues it for the approvers only, and yields exactly one lease once approved", async () => {
    const w = await approvalWorld();
    const body = { credential: w.credential.name, ttl: "5m", purpose: "deploy", agent: { name: "claude-code" } };
    const raw = await api(w.agent, "POST", "/v1/leases", body);
    const rawText = await raw.clone().text();
    expect(rawText).not.toContain(w.value);
    const request = await requestLease(w.agent, body);
    expect(request).toMatchObject({
      status: "pending",
      identity: "agent:bot@host",
      approvers: { team: w.team },
      ttl: 300,
      credential_id: w.credential.id,
    });
    // The first answer and its retry are the same request: retries do not grow the queue.
    expect((JSON.parse(rawText) as { request: RequestBody }).request.id).toBe(request.id);
    expect(await listAll(w.agent)).toEqual([]);

    const queue = (token: string) =>
      api(token, "GET", "/v1/access-requests").then((r) => expectStatus<{ items: RequestBody[] }>(r, 200));
    expect((await queue(w.alice)).items.map((r) => r.id)).toEqual([request.id]);
    expect((await queue(w.bob)).items).toEqual([]);
    expect((await queue(w.agent)).items).toEqual([]);
    const mine = await expectStatus<{ items: RequestBody[] }>(
      await api(w.agent, "GET", "/v1/access-requests?view=mine"),
      200,
    );
    expect(mine.items.map((r) => r.id)).toEqual([request.id]);
    // Someone who is neither requester, approver nor manager cannot see it.
    await expectError(await api(w.bob, "GET", `/v1/access-requests/${request.id}`), 404, "not_found");
    expect(
      (await expectStatus<RequestBody>(await api(w.alice, "GET", `/v1/access-requests/${request.id}`), 200)).status,
    ).toBe("pending");

    // Still pending: collecting answers the request again, no lease.
    expect(
      (
        await expectStatus<{ request: RequestBody }>(
          await api(w.agent, "POST", `/v1/access-requests/${request.id}/lease`),
          202,
        )
      ).request.status,
    ).toBe("pending");

    const approved = await expectStatus<RequestBody>(
      await decide(w.alice, request.id, "approve", { reason: "ticket OPS-1" }),
      200,
    );
    expect(approved).toMatchObject({ status: "approved", decided_by: "user:alice@acme.test", reason: "ticket OPS-1" });
    // Another identity cannot collect the requester's lease; it looks like a missing request.
    await expectError(await api(w.alice, "POST", `/v1/access-requests/${request.id}/lease`), 404, "not_found");

    const collected = await expectStatus<Collected>(
      await api(w.agent, "POST", "/v1/leases", { credential: w.credential.id, request: request.id }),
      201,
    );
    expect(collected.value).toBe(w.value);
    expect(collected.lease).toMatchObject({
      identity: "agent:bot@host",
      purpose: "deploy",
      agent: { name: "claude-code" },
      state: "active",
    });
    // Exactly once: both ways of collecting now fail clearly.
    expect(
      await expectError(await api(w.agent, "POST", `/v1/access-requests/${request.id}/lease`), 409, "conflict"),
    ).toContain("already collected");
    await expectError(
      await api(w.agent, "POST", "/v1/leases", { credential: w.credential.id, request: request.id }),
      409,
      "conflict",
    );
    expect((await listAll(w.agent)).map((l) => l.id)).toEqual([collected.lease.id]);
    const done = await expectStatus<RequestBody>(await api(w.agent, "GET", `/v1/access-requests/${request.id}`), 200);
    expect(done).toMatchObject({ status: "collected", lease_id: collected.lease.id });

    const requested = await auditOfType(w.admin, "access.requested");
    expect(requested.map((e) => e.entry.details.request_id)).toEqual([request.id]);
    expect(requested[0]!.entry.actor.agent).toEqual({ name: "claude-code" });
    const approvals = await auditOfType(w.admin, "access.approved");
    expect(
      approvals.map((e) => [e.entry.actor.identity, e.entry.details.request_id, e.entry.details.requester]),
    ).toEqual([["user:alice@acme.test", request.id, "agent:bot@host"]]);
    const created = await auditOfType(w.admin, "lease.created");
    expect(created.map((e) => [e.entry.details.lease_id, e.entry.details.access_request])).toEqual([
      [collected.lease.id, request.id],
    ]);
    const audit =
      JSON.stringify(await auditOfType(w.admin, "access.requested")) +
      JSON.stringify(approvals) +
      JSON.stringify(created);
    expect(audit).not.toContain(w.value);
  });

  it("lets a plain retry of the lease request collect the approved request's one lease (as the CLI and MCP tools retry)", async () => {
    const w = await approvalWorld();
    const request = await requestLease(w.agent, { credential: w.credential.name, ttl: "3m" });
    await expectStatus(await decide(w.alice, request.id, "approve"), 200);
    const collected = await expectStatus<Collected>(
      await api(w.agent, "POST", "/v1/leases", { credential: w.credential.name }),
      201,
    );
    expect(collected.value).toBe(w.value);
    expect((Date.parse(collected.lease.expires_at) - Date.parse(collected.lease.issued_at)) / 1000).toBe(180);
    expect(
      (await expectStatus<RequestBody>(await api(w.agent, "GET", `/v1/access-requests/${request.id}`), 200)).lease_id,
    ).toBe(collected.lease.id);
    // The next retry is a new request, not a second lease.
    expect((await requestLease(w.agent, { credential: w.credential.name })).id).not.toBe(request.id);
    expect(await listAll(w.agent)).toHaveLength(1);
  });

  it("gives two racing collections exactly one lease", async () => {
    const w = await approvalWorld();
    const request = await requestLease(w.agent, { credential: w.credential.name });
    await expectStatus(await decide(w.alice, request.id, "approve"), 200);
    const results = await Promise.all(
      [0, 1, 2].map(() => api(w.agent, "POST", `/v1/access-requests/${request.id}/lease`)),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409]);
    expect(await listAll(w.agent)).toHaveLength(1);
  });

  it("never lets a requester approve or deny their own request, by identity or through a session of the same token; another approver can", async () => {
    const w = await approvalWorld();
    // Carol is in the approvers team and also held by an approve rule: the one case where self-approval could slip through.
    await expectStatus(
      await api(w.admin, "PUT", `/v1/teams/${w.team}`, { members: ["user:alice@acme.test", "user:carol@acme.test"] }),
      200,
    );
    await expectStatus(
      await api(w.admin, "PUT", `/v1/credentials/${w.credential.id}/acl`, {
        rules: [{ effect: "approve", identity: "user:carol@acme.test", approvers: { team: w.team } }],
      }),
      200,
    );
    const carol = (
      await expectStatus<{ token: string }>(
        await api(w.admin, "POST", "/v1/tokens", { name: "carol", role: "manager", identity: "user:carol@acme.test" }),
        201,
      )
    ).token;
    const session = (
      await expectStatus<{ token: string }>(await api(carol, "POST", "/v1/sessions", { ttl: "10m" }), 201)
    ).token;
    const request = await requestLease(carol, { credential: w.credential.name });
    expect(
      (await expectStatus<{ items: RequestBody[] }>(await api(carol, "GET", "/v1/access-requests"), 200)).items,
    ).toEqual([]);
    for (const self of [carol, session]) {
      for (const verb of ["approve", "deny"] as const)
        expect(await expectError(await decide(self, request.id, verb), 403, "acl_denied")).toContain(
          "own access request",
        );
    }
    expect(
      (await expectStatus<RequestBody>(await api(carol, "GET", `/v1/access-requests/${request.id}`), 200)).status,
    ).toBe("pending");
    const refusals = await auditOfType(w.admin, "access.decision_refused");
    expect(refusals.map((e) => e.entry.details.refusal)).toEqual([
      "own_request",
      "own_request",
      "own_request",
      "own_request",
    ]);
    // Positive control: another member of the team approves it.
    expect((await expectStatus<RequestBody>(await decide(w.alice, request.id, "approve"), 200)).status).toBe(
      "approved",
    );
  });

  it("checks the approver against the rule's team as it stands at approval time, and refuses those outside it", async () => {
    const w = await approvalWorld();
    const request = await requestLease(w.agent, { credential: w.credential.name });
    await expectError(await decide(w.bob, request.id, "approve"), 404, "not_found");
    // A manager sees every request but is not in the team: refused, not approved.
    expect(await expectError(await decide(w.manager, request.id, "approve"), 403, "acl_denied")).toContain(
      "not among this request's approvers",
    );
    await expectStatus(
      await api(w.admin, "PUT", `/v1/teams/${w.team}`, { members: ["user:someone-else@acme.test"] }),
      200,
    );
    await expectError(await decide(w.alice, request.id, "approve"), 404, "not_found");
    await expectStatus(await api(w.admin, "PUT", `/v1/teams/${w.team}`, { members: ["user:alice@acme.test"] }), 200);
    expect((await expectStatus<RequestBody>(await decide(w.alice, request.id, "approve"), 200)).status).toBe(
      "approved",
    );
  });

  it("requires the approvers' role: a user is refused, a manager approves", async () => {
    const w = await approvalWorld({ role: "manager" });
    const request = await requestLease(w.agent, { credential: w.credential.name });
    await expectError(await decide(w.alice, request.id, "approve"), 404, "not_found");
    expect(
      (await expectStatus<{ items: RequestBody[] }>(await api(w.manager, "GET", "/v1/access-requests"), 200)).items.map(
        (r) => r.id,
      ),
    ).toEqual([request.id]);
    expect((await expectStatus<RequestBody>(await decide(w.manager, request.id, "approve"), 200)).status).toBe(
      "approved",
    );
  });

  it("lets an approver deny with a reason the requester sees; a denied request can be neither approved nor collected", async () => {
    const w = await approvalWorld();
    const request = await requestLease(w.agent, { credential: w.credential.name });
    await expectError(await decide(w.alice, request.id, "deny", {}), 400, "validation_failed");
    await expectError(await decide(w.alice, request.id, "deny", { reason: "x".repeat(501) }), 400, "validation_failed");
    const denied = await expectStatus<RequestBody>(
      await decide(w.alice, request.id, "deny", { reason: "use the staging key" }),
      200,
    );
    expect(denied).toMatchObject({ status: "denied", reason: "use the staging key" });
    expect(
      await expectError(await api(w.agent, "POST", `/v1/access-requests/${request.id}/lease`), 409, "conflict"),
    ).toContain("use the staging key");
    await expectError(await decide(w.alice, request.id, "approve"), 409, "conflict");
    expect(await listAll(w.agent)).toEqual([]);
    const entries = await auditOfType(w.admin, "access.denied");
    expect(entries.map((e) => [e.entry.details.request_id, e.entry.details.reason, e.entry.outcome])).toEqual([
      [request.id, "use the staging key", "success"],
    ]);
    // A new request afterwards is a new request.
    expect((await requestLease(w.agent, { credential: w.credential.name })).id).not.toBe(request.id);
  });

  it("grants a TTL no longer than requested nor than the credential's maximum at collection", async () => {
    const w = await approvalWorld();
    const short = await requestLease(w.agent, { credential: w.credential.name, ttl: "2m" });
    await expectStatus(await decide(w.alice, short.id, "approve"), 200);
    const a = await expectStatus<Collected>(await api(w.agent, "POST", `/v1/access-requests/${short.id}/lease`), 201);
    expect((Date.parse(a.lease.expires_at) - Date.parse(a.lease.issued_at)) / 1000).toBe(120);

    await expectError(
      await api(w.agent, "POST", "/v1/leases", { credential: w.credential.name, ttl: "2h" }),
      400,
      "validation_failed",
    );
    const long = await requestLease(w.agent, { credential: w.credential.name, ttl: "50m" });
    await expectStatus(await decide(w.alice, long.id, "approve"), 200);
    await expectStatus(
      await api(w.admin, "PATCH", `/v1/credentials/${w.credential.id}`, { max_ttl: "5m", default_ttl: "1m" }),
      200,
    );
    const b = await expectStatus<Collected>(await api(w.agent, "POST", `/v1/access-requests/${long.id}/lease`), 201);
    expect((Date.parse(b.lease.expires_at) - Date.parse(b.lease.issued_at)) / 1000).toBe(300);
  });

  it("lets a deny rule written after approval win at collection; approve beats allow; deny beats approve", async () => {
    const w = await approvalWorld();
    const request = await requestLease(w.agent, { credential: w.credential.name });
    await expectStatus(await decide(w.alice, request.id, "approve"), 200);
    const rules = (extra: unknown[]) =>
      api(w.admin, "PUT", `/v1/credentials/${w.credential.id}/acl`, {
        rules: [...extra, { effect: "approve", identity: "agent:*", approvers: { team: w.team } }],
      });
    await expectStatus(await rules([{ effect: "deny", identity: "agent:bot@host" }]), 200);
    await expectError(await api(w.agent, "POST", `/v1/access-requests/${request.id}/lease`), 403, "acl_denied");
    await expectError(await api(w.agent, "POST", "/v1/leases", { credential: w.credential.name }), 403, "acl_denied");
    // An allow rule naming the agent does not bypass the approve rule.
    await expectStatus(await rules([{ effect: "allow", identity: "agent:bot@host" }]), 200);
    const check = await expectStatus<{ allowed: boolean; approvers?: unknown }>(
      await api(w.admin, "GET", `/v1/credentials/${w.credential.id}/acl/check?identity=agent:bot@host`),
      200,
    );
    expect(check).toMatchObject({ allowed: false, approvers: { team: w.team } });
    // Positive control: the approved request is collected once the deny rule is gone.
    await expectStatus(await api(w.agent, "POST", `/v1/access-requests/${request.id}/lease`), 201);
    // Identities no approve rule names lease as before (approve rules, unlike allow rules, do not close the ACL).
    await expectStatus(await rules([]), 200);
    const open = await expectStatus<{ allowed: boolean }>(
      await api(w.admin, "GET", `/v1/credentials/${w.credential.id}/acl/check?identity=user:bob@acme.test`),
      200,
    );
    expect(open.allowed).toBe(true);
  });
});
