import { describe, expect, it } from "vitest";
import { OUTBOX_MAX_PENDING } from "../../../durable-objects/outbox/outbox";
import { api, expectStatus } from "../helpers";
import { verify } from "../audit-log/helpers";
import { arm, credentialAudit, d1State, getCredential, pendingOutbox, tenant } from "./outbox-helpers";

/**
 * Issue 18 §2: D1 unavailable or slow. Policy (docs/security-model.md "Atomicity"): a write whose
 * D1 reads fail is refused with 503 and changes nothing; a write whose intent is committed when
 * D1 then fails is queued in the outbox (bounded, OUTBOX_MAX_PENDING) and applied when D1 returns,
 * reads of that credential answering 503 meanwhile; leases of cached credentials keep working.
 */

const lease = (token: string, credential: string) => api(token, "POST", "/v1/leases", { credential });
const code = async (res: Response, status: number) =>
  (await expectStatus<{ error: { code: string } }>(res, status)).error.code;

describe("D1 unavailable", () => {
  it("writes are refused with 503 and change nothing; cached credentials still lease, others fail closed; all resumes when D1 returns", async () => {
    const { tenantId, manager, user } = await tenant();
    for (const name of ["cached", "cold"])
      await expectStatus(await api(manager, "POST", "/v1/credentials", { name, value: `value-of-${name}` }), 201);
    await expectStatus(
      await api(manager, "PUT", "/v1/credentials/cached/acl", {
        rules: [{ effect: "allow", identity: "agent:*" }],
        agent_visible: true,
      }),
      200,
    );
    await expectStatus(
      await api(manager, "PUT", "/v1/credentials/cold/acl", {
        rules: [{ effect: "allow", identity: "agent:*" }],
        agent_visible: true,
      }),
      200,
    );
    // Positive control, and it warms the lease path's cache for "cached".
    expect(await expectStatus<{ value: string }>(await lease(user, "cached"), 201)).toMatchObject({
      value: "value-of-cached",
    });
    const auditBefore = await credentialAudit(tenantId);

    await arm(tenantId, { d1Reads: "fail", d1Writes: "fail" });
    expect(await code(await api(manager, "POST", "/v1/credentials", { name: "new", value: "v" }), 503)).toBe(
      "unavailable",
    );
    expect(await code(await api(manager, "PATCH", "/v1/credentials/cold", { description: "x" }), 503)).toBe(
      "unavailable",
    );
    expect(await code(await api(manager, "POST", "/v1/credentials/cold/rotate", { value: "x" }), 503)).toBe(
      "unavailable",
    );
    expect(await code(await api(manager, "DELETE", "/v1/credentials/cold"), 503)).toBe("unavailable");
    expect(await code(await lease(user, "cold"), 503)).toBe("unavailable");
    expect(await expectStatus<{ value: string }>(await lease(user, "cached"), 201)).toMatchObject({
      value: "value-of-cached",
    });
    expect(await credentialAudit(tenantId)).toEqual(auditBefore);
    expect(await pendingOutbox(tenantId)).toBe(0);

    await arm(tenantId, null);
    await expectStatus(await api(manager, "POST", "/v1/credentials", { name: "new", value: "v" }), 201);
    expect(await expectStatus<{ value: string }>(await lease(user, "cold"), 201)).toMatchObject({
      value: "value-of-cold",
    });
    expect(await verify(manager)).toMatchObject({ ok: true });
  });

  it("D1 failing after the intent is committed: the write is queued and audited once, reads of it answer 503 until D1 returns, then show it", async () => {
    const { tenantId, manager, user } = await tenant();
    const victim = await expectStatus<{ id: string }>(
      await api(manager, "POST", "/v1/credentials", { name: "victim", value: "v1" }),
      201,
    );
    await expectStatus(await api(manager, "POST", "/v1/credentials", { name: "other", value: "o1" }), 201);
    // Positive control: with D1 up the update lands at once.
    await expectStatus(await api(manager, "PATCH", "/v1/credentials/other", { description: "first" }), 200);
    expect((await d1State((await getCredential(manager, "other")).id)).row!.description).toBe("first");

    await arm(tenantId, { d1Writes: "fail" });
    await expectStatus(await api(manager, "PATCH", "/v1/credentials/victim", { description: "queued" }), 200);
    expect((await d1State(victim.id)).row!.description).toBe("");
    expect(await pendingOutbox(tenantId)).toBe(1);
    expect(await code(await api(manager, "GET", "/v1/credentials/victim"), 503)).toBe("unavailable");
    expect(await code(await lease(user, "victim"), 503)).toBe("unavailable");
    // Another credential, with nothing pending, is read as usual.
    expect(await getCredential(manager, "other")).toMatchObject({ description: "first" });

    await arm(tenantId, null);
    expect(await getCredential(manager, "victim")).toMatchObject({ description: "queued" });
    expect(await pendingOutbox(tenantId)).toBe(0);
    expect(
      (await credentialAudit(tenantId)).filter((e) => e.type === "credential.updated" && e.id === victim.id),
    ).toHaveLength(1);
  });

  it(`the queue is bounded: with ${OUTBOX_MAX_PENDING} changes pending, the next write is refused with 503 and changes nothing`, async () => {
    const { tenantId, manager } = await tenant();
    await arm(tenantId, { d1Writes: "fail" });
    for (let i = 0; i < OUTBOX_MAX_PENDING; i++)
      await expectStatus(await api(manager, "POST", "/v1/credentials", { name: `q${i}`, value: "v" }), 201);
    const audited = (await credentialAudit(tenantId)).length;
    expect(await code(await api(manager, "POST", "/v1/credentials", { name: "one-too-many", value: "v" }), 503)).toBe(
      "unavailable",
    );
    expect(await credentialAudit(tenantId)).toHaveLength(audited);
    expect(await pendingOutbox(tenantId)).toBe(OUTBOX_MAX_PENDING);
    // D1 back: everything queued lands (the list applies every pending row first), then writes are accepted again.
    await arm(tenantId, null);
    const listed = await expectStatus<{ items: unknown[] }>(
      await api(manager, "GET", "/v1/credentials?limit=100"),
      200,
    );
    expect(listed.items).toHaveLength(OUTBOX_MAX_PENDING);
    expect(await pendingOutbox(tenantId)).toBe(0);
    await expectStatus(await api(manager, "POST", "/v1/credentials", { name: "one-too-many", value: "v" }), 201);
  });
});

describe("D1 slow", () => {
  it("a lease of a cached credential does not wait behind an unrelated write stuck in D1 (ordering, not timing)", async () => {
    const { tenantId, manager, user } = await tenant();
    for (const name of ["busy", "free"]) {
      await expectStatus(await api(manager, "POST", "/v1/credentials", { name, value: `value-of-${name}` }), 201);
      await expectStatus(
        await api(manager, "PUT", `/v1/credentials/${name}/acl`, {
          rules: [{ effect: "allow", identity: "agent:*" }],
          agent_visible: true,
        }),
        200,
      );
    }
    await expectStatus(await lease(user, "free"), 201);

    await arm(tenantId, { d1Writes: "hang" });
    let writeDone = false;
    const write = api(manager, "PATCH", "/v1/credentials/busy", { description: "slow" }).then((res) => {
      writeDone = true;
      return res;
    });
    // The write has reached D1 once its intent is pending.
    while ((await pendingOutbox(tenantId)) === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await expectStatus<{ value: string }>(await lease(user, "free"), 201)).toMatchObject({
      value: "value-of-free",
    });
    expect(writeDone).toBe(false);
    // Positive control of the ordering: a lease of the credential being written waits for that write.
    let busyLeased = false;
    const busyLease = lease(user, "busy").then((res) => {
      busyLeased = true;
      return res;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(busyLeased).toBe(false);
    await arm(tenantId, null);
    await expectStatus(await write, 200);
    await expectStatus(await busyLease, 201);
    expect((await d1State((await getCredential(manager, "busy")).id)).row!.description).toBe("slow");
  });
});

describe("D1 hanging", () => {
  it("no request waits on a stuck D1 write past the apply timeout: the write is queued, reads of it answer 503, and it lands once D1 answers", async () => {
    const { tenantId, manager } = await tenant();
    const victim = await expectStatus<{ id: string }>(
      await api(manager, "POST", "/v1/credentials", { name: "victim", value: "v" }),
      201,
    );
    // Positive control: with D1 answering, the same update lands in the request.
    await expectStatus(await api(manager, "PATCH", "/v1/credentials/victim", { description: "first" }), 200);
    expect(await pendingOutbox(tenantId)).toBe(0);

    await arm(tenantId, { d1Writes: "hang", applyTimeoutMs: 50 });
    await expectStatus(await api(manager, "PATCH", "/v1/credentials/victim", { description: "second" }), 200);
    expect(await pendingOutbox(tenantId)).toBe(1);
    expect(await code(await api(manager, "GET", "/v1/credentials/victim"), 503)).toBe("unavailable");

    await arm(tenantId, null);
    expect(await getCredential(manager, "victim")).toMatchObject({ description: "second" });
    expect((await d1State(victim.id)).row!.description).toBe("second");
    expect((await credentialAudit(tenantId)).filter((e) => e.type === "credential.updated")).toHaveLength(2);
    expect((await credentialAudit(tenantId)).filter((e) => e.type === "integrity.violation")).toEqual([]);
  });
});
