import { env, runInDurableObject } from "cloudflare:test";
import { expect, it } from "vitest";
import { vaultStub } from "../../../worker/routes/define";
import { TEST_BINDINGS } from "../../test-env";
import { api, bootstrap, expectStatus } from "../helpers";
import {
  auditOfType,
  expiredLeases,
  getLease,
  lease,
  listAll,
  makeCredential,
  MINUTE,
  SECOND,
  TestClock,
  type ErrorResponse,
} from "./lease-helpers";

/**
 * Issue 16 goal 2: the expiry sweep is allowed to lag its deadlines (an alarm run expires at most
 * LEASE_EXPIRY_BATCH leases, in chunks of LEASE_EXPIRY_CHUNK with pauses for requests between
 * them) because a lease past its deadline is refused by every read and change whether or not the
 * sweep has reached it. These tests leave leases the sweep has not reached yet, on purpose, and
 * check each way a holder could still use one.
 */
const BATCH = Number(TEST_BINDINGS.LEASE_EXPIRY_BATCH);
const CHUNK = Number(TEST_BINDINGS.LEASE_EXPIRY_CHUNK);

/** Ids of leases stored as active although their deadline `deadline` has passed. */
function unswept(tenantId: string, deadline: number): Promise<string[]> {
  return runInDurableObject(vaultStub(env, tenantId), (_vault, state) =>
    state.storage.sql
      .exec<{ id: string }>("SELECT id FROM leases WHERE state = 'active' AND expires_at <= ? ORDER BY n", deadline)
      .toArray()
      .map((r) => r.id),
  );
}

it("a lease the lagging sweep has not reached is refused like an expired one; a lease not yet due is served", {
  timeout: 60_000,
}, async () => {
  // The chunk must not divide the batch, so a run ends on a short chunk (the limit is per run).
  expect(BATCH % CHUNK).not.toBe(0);
  const { tenantId, adminToken } = await bootstrap();
  await makeCredential(adminToken, "lag/key", "lag-secret", { max_ttl: "1d" });
  const clock = await TestClock.freeze(tenantId);
  const deadline = clock.start + MINUTE;
  const count = BATCH + CHUNK + 7;
  const seeded = await vaultStub(env, tenantId).seedLeases({
    token: adminToken,
    requestId: "seed-lag-test",
    input: { credential: "lag/key", count, expiresAt: deadline },
  });
  expect(seeded).toEqual({ ok: true, value: { seeded: count } });
  // Positive control: the admin's own lease with a later deadline, which stays usable throughout.
  const { lease: control } = await lease(adminToken, { credential: "lag/key", ttl: "1h" });

  await clock.set(deadline + SECOND);
  expect(await clock.runAlarm()).toBe(true);
  // One run expired exactly one batch; the rest are past their deadline but still stored active.
  const left = await unswept(tenantId, deadline);
  expect(left).toHaveLength(count - BATCH);
  expect(await expiredLeases(adminToken)).toHaveLength(BATCH);

  const id = left[0]!;
  expect(await getLease(adminToken, id)).toMatchObject({
    state: "expired",
    ended_at: new Date(deadline).toISOString(),
  });
  for (const [method, path, body] of [
    ["POST", `/v1/leases/${id}/renew`, { ttl: "5m" }],
    ["DELETE", `/v1/leases/${id}`, undefined],
  ] as const) {
    const refused = await expectStatus<ErrorResponse>(await api(adminToken, method, path, body), 409);
    expect(refused.error.code).toBe("conflict");
  }
  const active = await listAll(adminToken, "state=active");
  expect(active.map((l) => l.id)).toEqual([control.id]);
  const expired = await listAll(adminToken, "state=expired");
  expect(expired.map((l) => l.id)).toContain(id);
  expect(expired).toHaveLength(count);
  // The control, with the same token and credential, is still renewed and listed active.
  await expectStatus(await api(adminToken, "POST", `/v1/leases/${control.id}/renew`, { ttl: "30m" }), 200);
  expect(await getLease(adminToken, control.id)).toMatchObject({ state: "active" });

  // The next run catches up: every seeded lease recorded expired once, at its deadline; the
  // refused renewal and revocation left no trace, and the control is untouched.
  expect(await clock.runAlarm()).toBe(true);
  expect(await unswept(tenantId, deadline)).toEqual([]);
  const entries = await expiredLeases(adminToken);
  expect(entries).toHaveLength(count);
  expect(new Set(entries.map((e) => e.lease_id)).size).toBe(count);
  expect(entries.every((e) => e.expired_at === new Date(deadline).toISOString())).toBe(true);
  expect(entries.some((e) => e.lease_id === control.id)).toBe(false);
  expect((await auditOfType(adminToken, "lease.renewed")).map((e) => e.entry.details.lease_id)).toEqual([control.id]);
  expect(await auditOfType(adminToken, "lease.revoked")).toHaveLength(0);
  expect(await getLease(adminToken, control.id)).toMatchObject({ state: "active" });
});

it("a lease revoked while the sweep is behind is recorded revoked, never also expired", async () => {
  const { tenantId, adminToken } = await bootstrap();
  await makeCredential(adminToken, "lag/rev", "lag-secret", { max_ttl: "1d" });
  const clock = await TestClock.freeze(tenantId);
  const { lease: early } = await lease(adminToken, { credential: "lag/rev", ttl: "2m" });
  const { lease: due } = await lease(adminToken, { credential: "lag/rev", ttl: "1m" });
  // Revoked before its deadline (positive control of revocation), then both deadlines pass.
  await expectStatus(await api(adminToken, "DELETE", `/v1/leases/${early.id}`), 200);
  await clock.at(3 * MINUTE);
  expect(await clock.runAlarm()).toBe(true);
  expect(await getLease(adminToken, early.id)).toMatchObject({ state: "revoked" });
  expect(await getLease(adminToken, due.id)).toMatchObject({ state: "expired" });
  const expired = await expiredLeases(adminToken);
  expect(expired.map((e) => e.lease_id)).toEqual([due.id]);
});
