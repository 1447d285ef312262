import { env, runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { vaultStub } from "../../../worker/routes/define";
import { api, BASE, bootstrap, expectStatus, makeToken, workerFetch } from "../helpers";
import {
  auditOfType,
  HOUR,
  listAll,
  MINUTE,
  makeCredential,
  TestClock,
  type ErrorResponse,
  type LeaseBody,
} from "../leases/lease-helpers";

// Issue 15 §6: a POST retried with the same Idempotency-Key acts once. The "lost first response" is
// modelled by simply sending the request twice: the server cannot tell the difference.

const VALUE = "idem-secret-value-7f3a9c";

/** A JSON POST with a bearer token and, if given, an Idempotency-Key. */
function post(token: string, path: string, body: unknown, key?: string): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  if (key !== undefined) headers["idempotency-key"] = key;
  return workerFetch(`${BASE}${path}`, { method: "POST", headers, body: JSON.stringify(body) });
}

type Leased = { lease: LeaseBody; value: string };

/** Every row of the tenant's idempotency table, as stored. */
function idempotencyRows(tenantId: string) {
  return runInDurableObject(vaultStub(env, tenantId), (_o, state) =>
    state.storage.sql
      .exec<{
        token_id: string;
        idem_key: string;
        fingerprint: string;
        outcome: ArrayBuffer | null;
        expires_at: number;
      }>("SELECT * FROM idempotency")
      .toArray(),
  );
}

describe("Idempotency-Key on POST", () => {
  let tenantId: string;
  let admin: string;
  let agent: { token: string; id: string };
  let other: { token: string; id: string };
  const body = { credential: "db-password", ttl: "5m" };

  beforeAll(async () => {
    ({ tenantId, adminToken: admin } = await bootstrap("idem"));
    await makeCredential(admin, "db-password", VALUE);
    agent = await makeToken(admin, { role: "user", identity: "agent:one" });
    other = await makeToken(admin, { role: "user", identity: "agent:two" });
  });

  it("a lease retried with the same key yields one lease, one audit entry and the same value", async () => {
    const before = (await auditOfType(admin, "lease.created")).length;
    const first = await expectStatus<Leased>(await post(agent.token, "/v1/leases", body, "lease-retry-1"), 201);
    const again = await expectStatus<Leased>(await post(agent.token, "/v1/leases", body, "lease-retry-1"), 201);
    expect(again).toEqual(first);
    expect(again.value).toBe(VALUE);
    const mine = (await listAll(admin)).filter((l) => l.token_id === agent.id);
    expect(mine.filter((l) => l.id === first.lease.id)).toHaveLength(1);
    const created = await auditOfType(admin, "lease.created");
    expect(created.length).toBe(before + 1);
    expect(created.filter((e) => e.entry.details.lease_id === first.lease.id)).toHaveLength(1);
  });

  it("positive control: without a key, or with another key, a second POST leases again", async () => {
    const a = await expectStatus<Leased>(await post(agent.token, "/v1/leases", body), 201);
    const b = await expectStatus<Leased>(await post(agent.token, "/v1/leases", body), 201);
    const c = await expectStatus<Leased>(await post(agent.token, "/v1/leases", body, "lease-other-key"), 201);
    expect(new Set([a.lease.id, b.lease.id, c.lease.id]).size).toBe(3);
  });

  it("the same key with a different body is 422 idempotency_mismatch and changes nothing", async () => {
    await expectStatus<Leased>(await post(agent.token, "/v1/leases", body, "lease-mismatch"), 201);
    const leasesBefore = (await listAll(admin)).length;
    const auditBefore = (await auditOfType(admin, "lease.created")).length;
    const res = await post(agent.token, "/v1/leases", { ...body, ttl: "6m" }, "lease-mismatch");
    const error = await expectStatus<ErrorResponse>(res, 422);
    expect(error.error.code).toBe("idempotency_mismatch");
    expect((await listAll(admin)).length).toBe(leasesBefore);
    expect((await auditOfType(admin, "lease.created")).length).toBe(auditBefore);
  });

  it("the same key on another operation is a mismatch too", async () => {
    await expectStatus(await post(admin, "/v1/credentials", { name: "cross-op", value: "v" }, "cross-op-key"), 201);
    const tokensBefore = (await auditOfType(admin, "token.created")).length;
    const res = await post(admin, "/v1/tokens", { name: "x", role: "user", identity: "agent:x" }, "cross-op-key");
    expect((await expectStatus<ErrorResponse>(res, 422)).error.code).toBe("idempotency_mismatch");
    expect((await auditOfType(admin, "token.created")).length).toBe(tokensBefore);
    // Positive control: the same request under a fresh key is created.
    await expectStatus(
      await post(admin, "/v1/tokens", { name: "x", role: "user", identity: "agent:x" }, "cross-op-key-2"),
      201,
    );
    expect((await auditOfType(admin, "token.created")).length).toBe(tokensBefore + 1);
  });

  it("different tokens with the same key do not collide", async () => {
    const mine = await expectStatus<Leased>(await post(agent.token, "/v1/leases", body, "shared-key"), 201);
    const theirs = await expectStatus<Leased>(await post(other.token, "/v1/leases", body, "shared-key"), 201);
    expect(theirs.lease.id).not.toBe(mine.lease.id);
    expect(theirs.lease.token_id).toBe(other.id);
    // Each still replays its own.
    expect((await expectStatus<Leased>(await post(other.token, "/v1/leases", body, "shared-key"), 201)).lease.id).toBe(
      theirs.lease.id,
    );
  });

  it("a credential create and a KEK rotation retried with the same key act once", async () => {
    const create = { name: "idem-created", value: "created-value" };
    const first = await expectStatus<{ id: string }>(await post(admin, "/v1/credentials", create, "create-1"), 201);
    const again = await expectStatus<{ id: string }>(await post(admin, "/v1/credentials", create, "create-1"), 201);
    expect(again.id).toBe(first.id);
    // Positive control: without the key the same create is a name conflict, so the replay did not run it.
    expect((await expectStatus<ErrorResponse>(await post(admin, "/v1/credentials", create), 409)).error.code).toBe(
      "conflict",
    );

    const rotations = (await auditOfType(admin, "kek.rotation_started")).length;
    const r1 = await expectStatus<Record<string, unknown>>(
      await post(admin, "/v1/admin/kek/rotate", {}, "rotate-1"),
      202,
    );
    const r2 = await expectStatus<Record<string, unknown>>(
      await post(admin, "/v1/admin/kek/rotate", {}, "rotate-1"),
      202,
    );
    expect(r2).toEqual(r1);
    expect((await auditOfType(admin, "kek.rotation_started")).length).toBe(rotations + 1);
  });

  it("no leased value lies in the object's SQLite in clear, and only the caller's token opens the outcome", async () => {
    await expectStatus<Leased>(await post(agent.token, "/v1/leases", body, "sealed-check"), 201);
    const rows = await idempotencyRows(tenantId);
    const row = rows.find((r) => r.idem_key === "sealed-check" && r.token_id === agent.id);
    expect(row?.outcome).toBeInstanceOf(ArrayBuffer);
    const needle = new TextEncoder().encode(VALUE);
    const hexNeedle = [...needle].map((b) => b.toString(16).padStart(2, "0")).join("");
    for (const r of rows) {
      const hex =
        r.outcome === null ? "" : [...new Uint8Array(r.outcome)].map((b) => b.toString(16).padStart(2, "0")).join("");
      expect(hex).not.toContain(hexNeedle);
      expect(JSON.stringify({ ...r, outcome: null })).not.toContain(VALUE);
    }
    // Positive control for the scan: the value's bytes would be found in a row that held them.
    expect(hexNeedle.length).toBeGreaterThan(0);
    expect(`00${hexNeedle}00`).toContain(hexNeedle);
  });

  it("a key whose first request never stored its outcome is 409 and does not act again", async () => {
    const first = await expectStatus<Leased>(await post(agent.token, "/v1/leases", body, "in-flight"), 201);
    // The state a crash between the lease and the stored outcome leaves: the key claimed, no outcome.
    await runInDurableObject(vaultStub(env, tenantId), (_o, state) => {
      state.storage.sql.exec(
        "UPDATE idempotency SET outcome = NULL WHERE token_id = ? AND idem_key = ?",
        agent.id,
        "in-flight",
      );
    });
    const leasesBefore = (await listAll(admin)).length;
    const res = await post(agent.token, "/v1/leases", body, "in-flight");
    expect((await expectStatus<ErrorResponse>(res, 409)).error.code).toBe("conflict");
    expect((await listAll(admin)).length).toBe(leasesBefore);
    expect(first.lease.id).toMatch(/^lease_/);
  });

  it("two concurrent requests with one key lease once: the other replays it or is told 409", async () => {
    const before = (await auditOfType(admin, "lease.created")).length;
    const replies = await Promise.all([0, 1, 2].map(() => post(agent.token, "/v1/leases", body, "concurrent-key")));
    const statuses = replies.map((r) => r.status);
    expect(
      statuses.every((s) => s === 201 || s === 409),
      statuses.join(),
    ).toBe(true);
    const leased = await Promise.all(replies.filter((r) => r.status === 201).map((r) => r.json() as Promise<Leased>));
    expect(leased.length).toBeGreaterThanOrEqual(1);
    expect(new Set(leased.map((l) => l.lease.id)).size).toBe(1);
    expect((await auditOfType(admin, "lease.created")).length).toBe(before + 1);
  });

  it("a bad key from a caller without a valid token is 401, not a validation error", async () => {
    const forged = `${agent.token.slice(0, -4)}AAAA`;
    const error = await expectStatus<ErrorResponse>(await post(forged, "/v1/leases", body, "k".repeat(129)), 401);
    expect(error.error.code).toBe("unauthorized");
    // Positive control: the same bad key from the real token is the 400 that names it.
    expect(
      (await expectStatus<ErrorResponse>(await post(agent.token, "/v1/leases", body, "k".repeat(129)), 400)).error
        .message,
    ).toContain("Idempotency-Key");
  });

  it("a retry does not re-deliver the value of a lease revoked since (break glass); control: before revocation it does", async () => {
    const first = await expectStatus<Leased>(await post(agent.token, "/v1/leases", body, "revoked-since"), 201);
    expect((await expectStatus<Leased>(await post(agent.token, "/v1/leases", body, "revoked-since"), 201)).value).toBe(
      VALUE,
    );
    await expectStatus(await api(admin, "DELETE", `/v1/leases/${first.lease.id}`), 200);
    const res = await post(agent.token, "/v1/leases", body, "revoked-since");
    const text = await res.text();
    expect(res.status, text).toBe(409);
    expect(text).not.toContain(VALUE);
    expect((JSON.parse(text) as ErrorResponse).error.code).toBe("conflict");
  });

  it("a failed request is not remembered: the retry runs", async () => {
    const missing = { credential: "not-yet", ttl: "5m" };
    expect((await post(agent.token, "/v1/leases", missing, "after-failure")).status).toBe(404);
    await makeCredential(admin, "not-yet", "later-value");
    const leased = await expectStatus<Leased>(await post(agent.token, "/v1/leases", missing, "after-failure"), 201);
    expect(leased.value).toBe("later-value");
  });

  it("a key longer than 128 characters or with a control character is 400 and nothing is leased", async () => {
    const leasesBefore = (await listAll(admin)).length;
    for (const bad of ["k".repeat(129), "tab\there"]) {
      const error = await expectStatus<ErrorResponse>(await post(agent.token, "/v1/leases", body, bad), 400);
      expect(error.error.code).toBe("validation_failed");
      expect(error.error.message).toContain("Idempotency-Key");
    }
    expect((await listAll(admin)).length).toBe(leasesBefore);
    // Positive control: 128 printable characters, spaces included, are a good key.
    await expectStatus<Leased>(await post(agent.token, "/v1/leases", body, "k".repeat(128)), 201);
    await expectStatus<Leased>(await post(agent.token, "/v1/leases", body, "with space ~!"), 201);
  });
});

describe("routes without a token", () => {
  it("ignore the header: a public POST with an over-long key still works", async () => {
    const res = await workerFetch(`${BASE}/v1/bootstrap`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-bootstrap-secret": env.BOOTSTRAP_SECRET,
        "idempotency-key": "k".repeat(129),
      },
      body: JSON.stringify({ tenant_name: "idem-public", admin_identity: "user:admin@acme.test" }),
    });
    await expectStatus(res, 201);
  });
});

describe("OpenAPI", () => {
  it("documents Idempotency-Key on authenticated POSTs only", async () => {
    type Op = { parameters?: { name: string; in: string }[] };
    const doc = await expectStatus<{ paths: Record<string, Record<string, Op>> }>(
      await workerFetch(`${BASE}/v1/openapi.json`),
      200,
    );
    const has = (op: Op | undefined) =>
      (op?.parameters ?? []).some((p) => p.name === "Idempotency-Key" && p.in === "header");
    expect(has(doc.paths["/v1/leases"]?.post)).toBe(true);
    expect(has(doc.paths["/v1/admin/kek/rotate"]?.post)).toBe(true);
    expect(has(doc.paths["/v1/leases"]?.get)).toBe(false);
    expect(has(doc.paths["/v1/bootstrap"]?.post)).toBe(false);
  });
});

describe("Idempotency rows expire after 24 h", () => {
  it("the alarm purges them, and the key then acts again", async () => {
    const { tenantId, adminToken } = await bootstrap("idem-expiry");
    await makeCredential(adminToken, "db", VALUE);
    const clock = await TestClock.freeze(tenantId);
    const first = await expectStatus<Leased>(
      await post(adminToken, "/v1/leases", { credential: "db", ttl: "1h" }, "day-key"),
      201,
    );
    expect(await idempotencyRows(tenantId)).toHaveLength(1);

    await clock.at(10 * MINUTE);
    expect(
      (
        await expectStatus<Leased>(
          await post(adminToken, "/v1/leases", { credential: "db", ttl: "1h" }, "day-key"),
          201,
        )
      ).lease.id,
    ).toBe(first.lease.id);
    await clock.at(23 * HOUR);
    await clock.runAlarm();
    expect(await idempotencyRows(tenantId)).toHaveLength(1);
    // The lease itself has expired by now: its value is not handed out again.
    expect(
      (
        await expectStatus<ErrorResponse>(
          await post(adminToken, "/v1/leases", { credential: "db", ttl: "1h" }, "day-key"),
          409,
        )
      ).error.code,
    ).toBe("conflict");

    await clock.at(24 * HOUR + 1);
    await clock.runAlarm();
    expect(await idempotencyRows(tenantId)).toHaveLength(0);
    const later = await expectStatus<Leased>(
      await post(adminToken, "/v1/leases", { credential: "db", ttl: "1h" }, "day-key"),
      201,
    );
    expect(later.lease.id).not.toBe(first.lease.id);
  });
});
