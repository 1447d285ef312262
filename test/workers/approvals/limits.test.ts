import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { vaultStub } from "../../../worker/routes/define";
import { api, bootstrap, createCredential, expectStatus } from "../helpers";
import { auditOfType, listAll, MINUTE, SECOND, TestClock } from "../leases/lease-helpers";
import { approvalWorld, decide, expectError, requestLease, type RequestBody } from "./approval-helpers";

const MISSING = "areq_000000000000000000000000";

describe("access requests: expiry, isolation, bounds, bad input", () => {
  it("expires a pending request after 15 minutes and an uncollected approval 15 minutes after it, by the alarm, each with access.expired", async () => {
    const w = await approvalWorld();
    const clock = await TestClock.freeze(w.tenantId);
    const pending = await requestLease(w.agent, { credential: w.credential.name });
    expect(Date.parse(pending.expires_at) - clock.now).toBe(15 * MINUTE);
    // Before the deadline nothing lapses.
    await clock.at(15 * MINUTE - SECOND);
    await clock.runAlarm();
    expect(
      (await expectStatus<RequestBody>(await api(w.agent, "GET", `/v1/access-requests/${pending.id}`), 200)).status,
    ).toBe("pending");
    await clock.at(15 * MINUTE + SECOND);
    // Past the deadline it shows as expired at once, even before the alarm ran; nobody may approve it.
    expect(
      (await expectStatus<RequestBody>(await api(w.agent, "GET", `/v1/access-requests/${pending.id}`), 200)).status,
    ).toBe("expired");
    await expectError(await decide(w.alice, pending.id, "approve"), 409, "conflict");
    expect(await clock.runAlarm()).toBe(true);
    const stored = await runInDurableObject(
      vaultStub(env, w.tenantId),
      (_o, state) =>
        state.storage.sql.exec<{ status: string }>("SELECT status FROM access_requests WHERE id = ?", pending.id).one()
          .status,
    );
    expect(stored).toBe("expired");
    expect(
      (await auditOfType(w.admin, "access.expired")).map((e) => [
        e.entry.details.request_id,
        e.entry.details.was,
        e.entry.actor.identity,
      ]),
    ).toEqual([[pending.id, "pending", "system"]]);

    // An approval not collected in time lapses the same way.
    const second = await requestLease(w.agent, { credential: w.credential.name });
    expect(second.id).not.toBe(pending.id);
    await clock.at(20 * MINUTE);
    await expectStatus(await decide(w.alice, second.id, "approve"), 200);
    await clock.at(35 * MINUTE + SECOND);
    await clock.runAlarm();
    expect(
      await expectError(await api(w.agent, "POST", `/v1/access-requests/${second.id}/lease`), 409, "conflict"),
    ).toContain("expired");
    expect((await auditOfType(w.admin, "access.expired")).map((e) => e.entry.details.was)).toEqual([
      "pending",
      "approved",
    ]);
    expect(await listAll(w.agent)).toEqual([]);
  });

  it("answers another tenant's request ids exactly like missing ones, for every route; its own ids work", async () => {
    const w = await approvalWorld();
    const request = await requestLease(w.agent, { credential: w.credential.name });
    const other = await bootstrap("other");
    const calls = (id: string): [string, string, unknown?][] => [
      ["GET", `/v1/access-requests/${id}`],
      ["POST", `/v1/access-requests/${id}/approve`, {}],
      ["POST", `/v1/access-requests/${id}/deny`, { reason: "no" }],
      ["POST", `/v1/access-requests/${id}/lease`],
    ];
    for (const [i, [method, path, body]] of calls(request.id).entries()) {
      const foreign = await expectError(await api(other.adminToken, method, path, body), 404, "not_found");
      const [, missingPath, missingBody] = calls(MISSING)[i]!;
      expect(await expectError(await api(other.adminToken, method, missingPath, missingBody), 404, "not_found")).toBe(
        foreign,
      );
    }
    const otherQueue = await expectStatus<{ items: RequestBody[] }>(
      await api(other.adminToken, "GET", "/v1/access-requests"),
      200,
    );
    expect(otherQueue.items).toEqual([]);
    // Positive control: the tenant's own approver still decides it.
    expect((await expectStatus<RequestBody>(await decide(w.alice, request.id, "approve"), 200)).status).toBe(
      "approved",
    );
  });

  it("caps pending requests per identity (429, nothing queued), while other identities still get theirs", async () => {
    const w = await approvalWorld();
    const rules = { rules: [{ effect: "approve", identity: "agent:*", approvers: { team: w.team } }] };
    const names: string[] = [];
    for (let i = 0; i < 11; i++) {
      const c = await createCredential(w.admin, `flood/${i}-${crypto.randomUUID().slice(0, 6)}`);
      await expectStatus(await api(w.admin, "PUT", `/v1/credentials/${c.id}/acl`, rules), 200);
      names.push(c.name);
    }
    for (const name of names.slice(0, 10)) await requestLease(w.agent, { credential: name });
    expect(
      await expectError(await api(w.agent, "POST", "/v1/leases", { credential: names[10] }), 429, "rate_limited"),
    ).toContain("10 pending");
    expect(
      (await expectStatus<{ items: RequestBody[] }>(await api(w.alice, "GET", "/v1/access-requests?limit=100"), 200))
        .items,
    ).toHaveLength(10);
    // Retrying one already pending is no new request, so it is still answered.
    await requestLease(w.agent, { credential: names[0] });
    // Positive control: another agent is not starved by this one's flood.
    const other = (
      await expectStatus<{ token: string }>(
        await api(w.admin, "POST", "/v1/tokens", { name: "other", role: "user", identity: "agent:other@host" }),
        201,
      )
    ).token;
    await requestLease(other, { credential: names[10] });
    const refused = await auditOfType(w.admin, "lease.denied");
    expect(refused.map((e) => e.entry.details.code)).toEqual(["rate_limited"]);
  });

  it("caps pending requests per tenant (429 for a new identity once 200 are pending); a slot freed lets the next one in", async () => {
    const w = await approvalWorld();
    // 200 pending requests of 200 other identities, written straight into storage (making them through the API costs 200 tokens).
    await runInDurableObject(vaultStub(env, w.tenantId), (_o, state) => {
      const now = Date.now();
      for (let i = 0; i < 200; i++) {
        state.storage.sql.exec(
          `INSERT INTO access_requests (id, credential_id, credential_name, identity, token_id, token_root, ttl, approvers, status, created_at, expires_at)
           VALUES (?, ?, ?, ?, 'tok_x', 'tok_x', 60, '{"role":"admin"}', 'pending', ?, ?)`,
          `areq_${i.toString(16).padStart(24, "0")}`,
          w.credential.id,
          w.credential.name,
          `agent:flood-${i}@host`,
          now,
          now + 10 * MINUTE,
        );
      }
    });
    expect(
      await expectError(
        await api(w.agent, "POST", "/v1/leases", { credential: w.credential.name }),
        429,
        "rate_limited",
      ),
    ).toContain("too many pending");
    await runInDurableObject(vaultStub(env, w.tenantId), (_o, state) =>
      state.storage.sql.exec("UPDATE access_requests SET status = 'denied' WHERE id = ?", `areq_${"0".repeat(24)}`),
    );
    // Positive control: with one slot free the agent's request is queued.
    expect((await requestLease(w.agent, { credential: w.credential.name })).status).toBe("pending");
  });

  it("refuses malformed ids, unknown fields, bad views and oversized reasons with 400, unknown ids with 404; nothing changes", async () => {
    const w = await approvalWorld();
    const request = await requestLease(w.agent, { credential: w.credential.name });
    for (const id of ["areq_xyz", "lease_000000000000000000000000", "x".repeat(300), "AREQ_000000000000000000000000"]) {
      expect(
        await expectError(
          await api(w.alice, "GET", `/v1/access-requests/${encodeURIComponent(id)}`),
          400,
          "validation_failed",
        ),
      ).toContain("id");
      await expectError(await decide(w.alice, encodeURIComponent(id), "approve"), 400, "validation_failed");
    }
    await expectError(await api(w.alice, "GET", `/v1/access-requests/${MISSING}`), 404, "not_found");
    await expectError(await decide(w.alice, MISSING, "approve"), 404, "not_found");
    expect(
      await expectError(
        await decide(w.alice, request.id, "approve", { reason: "ok", bogus: 1 }),
        400,
        "validation_failed",
      ),
    ).toContain("bogus");
    await expectError(await decide(w.alice, request.id, "approve", { reason: "" }), 400, "validation_failed");
    await expectError(
      await decide(w.alice, request.id, "approve", { reason: "r".repeat(501) }),
      400,
      "validation_failed",
    );
    expect(
      await expectError(await api(w.alice, "GET", "/v1/access-requests?view=everything"), 400, "validation_failed"),
    ).toContain("view");
    await expectError(
      await api(w.agent, "POST", "/v1/leases", { credential: w.credential.name, request: "areq_nope" }),
      400,
      "validation_failed",
    );
    await expectError(
      await api(w.agent, "POST", "/v1/leases", { credential: w.credential.name, request: MISSING }),
      404,
      "not_found",
    );
    // A viewer may read the queue but never decide.
    const viewer = (
      await expectStatus<{ token: string }>(
        await api(w.admin, "POST", "/v1/tokens", { name: "v", role: "viewer", identity: "user:alice@acme.test" }),
        201,
      )
    ).token;
    await expectError(await decide(viewer, request.id, "approve"), 403, "forbidden");
    expect(
      (await expectStatus<RequestBody>(await api(w.agent, "GET", `/v1/access-requests/${request.id}`), 200)).status,
    ).toBe("pending");
    // Positive control: the well-formed approval succeeds.
    expect(
      (await expectStatus<RequestBody>(await decide(w.alice, request.id, "approve", { reason: "ok" }), 200)).status,
    ).toBe("approved");
  });

  it("refuses approve rules without approvers, approvers on other rules, empty approvers and roles below manager", async () => {
    const w = await approvalWorld();
    const put = (rule: Record<string, unknown>) =>
      api(w.admin, "PUT", `/v1/credentials/${w.credential.id}/acl`, { rules: [rule] });
    for (const bad of [
      { effect: "approve", identity: "agent:*" },
      { effect: "allow", identity: "agent:*", approvers: { team: w.team } },
      { effect: "approve", identity: "agent:*", approvers: {} },
      { effect: "approve", identity: "agent:*", approvers: { role: "user" } },
      { effect: "approve", identity: "agent:*", approvers: { team: "Not A Team!" } },
      { effect: "approve", identity: "agent:*", approvers: { team: w.team, extra: 1 } },
    ]) {
      expect(await expectError(await put(bad), 400, "validation_failed"), JSON.stringify(bad)).toMatch(
        /approvers|rules/,
      );
    }
    await expectStatus(
      await put({ effect: "approve", identity: "agent:*", approvers: { role: "admin", team: w.team } }),
      200,
    );
  });

  it("refuses the proxy (use) to an identity an approve rule holds; approvers named by role and team must hold both", async () => {
    const w = await approvalWorld({ role: "manager", team: "approvers-none" });
    const request = await requestLease(w.agent, { credential: w.credential.name });
    // The manager has the role but is in no such team: both are required.
    await expectError(await decide(w.manager, request.id, "approve"), 403, "acl_denied");
    await expectStatus(await api(w.admin, "PUT", "/v1/teams/approvers-none", { members: ["user:mgr@acme.test"] }), 200);
    expect((await expectStatus<RequestBody>(await decide(w.manager, request.id, "approve"), 200)).status).toBe(
      "approved",
    );
    const check = await expectStatus<{ allowed: boolean }>(
      await api(w.admin, "GET", `/v1/credentials/${w.credential.id}/acl/check?identity=agent:bot@host&permission=use`),
      200,
    );
    expect(check.allowed).toBe(false);
  });
});
