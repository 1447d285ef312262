import { describe, expect, it } from "vitest";
import { api, bootstrap, expectStatus, tokenWithRole } from "../helpers";
import {
  auditOfType,
  expiredLeases,
  getLease,
  lease,
  makeCredential,
  MINUTE,
  SECOND,
  TestClock,
  type ErrorResponse,
  type LeaseBody,
} from "./lease-helpers";

/** A tenant with a user token, a credential (max 10 minutes) and a frozen clock. */
async function setup() {
  const { tenantId, adminToken } = await bootstrap();
  const user = await tokenWithRole(adminToken, "user", "agent:expiry@host");
  await makeCredential(adminToken, "exp/key", "exp-secret", { default_ttl: "1m", max_ttl: "10m" });
  const clock = await TestClock.freeze(tenantId);
  return { adminToken, user, clock };
}

const renew = (token: string, id: string, ttl?: string) =>
  api(token, "POST", `/v1/leases/${id}/renew`, ttl === undefined ? {} : { ttl });
const revoke = (token: string, id: string) => api(token, "DELETE", `/v1/leases/${id}`);

describe("lease expiry with the injectable clock", () => {
  it("is still active one second before its TTL and expired, once, one second after", async () => {
    const { adminToken, user, clock } = await setup();
    const { lease: l } = await lease(user, { credential: "exp/key", ttl: "60s" });
    expect(l.issued_at).toBe(clock.iso(0));
    expect(l.expires_at).toBe(clock.iso(60 * SECOND));

    await clock.at(59 * SECOND);
    expect(await clock.runAlarm()).toBe(true);
    expect(await getLease(user, l.id)).toMatchObject({ state: "active", ended_at: null });
    expect(await expiredLeases(adminToken)).toHaveLength(0);

    await clock.at(61 * SECOND);
    expect(await clock.runAlarm()).toBe(true);
    expect(await getLease(user, l.id)).toMatchObject({
      state: "expired",
      ended_at: clock.iso(60 * SECOND),
      revoked_by: null,
    });
    const expired = await expiredLeases(adminToken);
    expect(expired).toHaveLength(1);
    expect(expired[0]!.item.entry.actor).toEqual({ identity: "system" });
    expect(expired[0]!.item.entry.target).toMatchObject({ kind: "credential", version: 1 });
    expect(expired[0]).toMatchObject({
      lease_id: l.id,
      holder: "agent:expiry@host",
      expired_at: clock.iso(60 * SECOND),
    });

    // A later alarm run does not expire it a second time.
    await clock.at(5 * MINUTE);
    await clock.runAlarm();
    expect(await expiredLeases(adminToken)).toHaveLength(1);
  });

  it("refuses to renew or revoke an expired lease (409), while an active one can be", async () => {
    const { user, clock } = await setup();
    const { lease: ending } = await lease(user, { credential: "exp/key", ttl: "60s" });
    const { lease: control } = await lease(user, { credential: "exp/key", ttl: "5m" });
    await clock.at(61 * SECOND);
    await clock.runAlarm();
    expect((await getLease(user, ending.id)).state).toBe("expired");

    expect((await expectStatus<ErrorResponse>(await renew(user, ending.id, "1m"), 409)).error.code).toBe("conflict");
    expect((await expectStatus<ErrorResponse>(await revoke(user, ending.id), 409)).error.code).toBe("conflict");
    expect((await getLease(user, ending.id)).state).toBe("expired");

    await expectStatus(await renew(user, control.id, "1m"), 200);
    expect((await expectStatus<LeaseBody>(await revoke(user, control.id), 200)).state).toBe("revoked");
  });

  it("treats a lease past its deadline as expired before the alarm has swept it", async () => {
    const { adminToken, user, clock } = await setup();
    const { lease: l } = await lease(user, { credential: "exp/key", ttl: "60s" });
    await clock.at(61 * SECOND);
    // No alarm run: the row is still stored as active.
    expect(await getLease(user, l.id)).toMatchObject({ state: "expired", ended_at: clock.iso(60 * SECOND) });
    await expectStatus(await renew(user, l.id, "5m"), 409);
    await expectStatus(await revoke(user, l.id), 409);

    // The sweep still records it exactly once, at its deadline.
    expect(await clock.runAlarm()).toBe(true);
    const expired = await expiredLeases(adminToken);
    expect(expired.map((e) => e.lease_id)).toEqual([l.id]);
    expect(await getLease(user, l.id)).toMatchObject({ state: "expired", ended_at: clock.iso(60 * SECOND) });
    expect(await auditOfType(adminToken, "lease.renewed")).toHaveLength(0);
    expect(await auditOfType(adminToken, "lease.revoked")).toHaveLength(0);
  });

  it("records one leases.expired entry per credential version, naming each lease it ended and no other", async () => {
    const { adminToken, user, clock } = await setup();
    const other = await makeCredential(adminToken, "exp/other", "other-secret", { max_ttl: "10m" });
    const a1 = [
      (await lease(user, { credential: "exp/key", ttl: "60s" })).lease,
      (await lease(user, { credential: "exp/key", ttl: "60s" })).lease,
    ];
    await expectStatus(await api(adminToken, "POST", "/v1/credentials/exp%2Fkey/rotate", { value: "exp-v2" }), 200);
    const { lease: a2 } = await lease(user, { credential: "exp/key", ttl: "60s" });
    const { lease: b1 } = await lease(user, { credential: "exp/other", ttl: "60s" });
    // Control: a lease of the same credential with a later deadline is in no entry and stays active.
    const { lease: later } = await lease(user, { credential: "exp/other", ttl: "5m" });
    await clock.at(61 * SECOND);
    expect(await clock.runAlarm()).toBe(true);

    const entries = await auditOfType(adminToken, "leases.expired");
    const byTarget = Object.fromEntries(
      entries.map((e) => [
        `${e.entry.target!.id} v${e.entry.target!.version}`,
        (e.entry.details.leases as { lease_id: string }[]).map((l) => l.lease_id).sort(),
      ]),
    );
    expect(byTarget).toEqual({
      [`${a1[0]!.credential_id} v1`]: a1.map((l) => l.id).sort(),
      [`${a2.credential_id} v2`]: [a2.id],
      [`${other.id} v1`]: [b1.id],
    });
    for (const e of entries) expect(e.entry.actor).toEqual({ identity: "system" });
    expect(await getLease(user, later.id)).toMatchObject({ state: "active" });
    expect((await getLease(user, b1.id)).state).toBe("expired");
  });

  it("renews, but never past the lease's maximum lifetime", async () => {
    const { adminToken, user, clock } = await setup();
    const { lease: l } = await lease(user, { credential: "exp/key", ttl: "5m" });
    expect(l.max_expires_at).toBe(clock.iso(10 * MINUTE));

    await clock.at(2 * MINUTE);
    const short = await expectStatus<LeaseBody>(await renew(user, l.id, "3m"), 200);
    expect(short.expires_at).toBe(clock.iso(5 * MINUTE));

    await clock.at(4 * MINUTE);
    const capped = await expectStatus<LeaseBody>(await renew(user, l.id, "10m"), 200);
    expect(capped.expires_at).toBe(clock.iso(10 * MINUTE));
    expect(capped.max_expires_at).toBe(clock.iso(10 * MINUTE));

    await clock.at(9 * MINUTE);
    const again = await expectStatus<LeaseBody>(await renew(user, l.id), 200);
    expect(Date.parse(again.expires_at)).toBeLessThanOrEqual(Date.parse(again.max_expires_at));
    expect((await getLease(user, l.id)).expires_at).toBe(clock.iso(10 * MINUTE));

    const renewed = await auditOfType(adminToken, "lease.renewed");
    expect(renewed.map((e) => e.entry.details.capped)).toEqual([false, true, true]);

    // The renewed deadline is the one the alarm enforces.
    await clock.at(10 * MINUTE - SECOND);
    await clock.runAlarm();
    expect((await getLease(user, l.id)).state).toBe("active");
    await clock.at(10 * MINUTE + SECOND);
    await clock.runAlarm();
    expect(await getLease(user, l.id)).toMatchObject({ state: "expired", ended_at: clock.iso(10 * MINUTE) });
  });

  it("refuses to renew a revoked lease (409) that could be renewed before", async () => {
    const { user, clock } = await setup();
    const { lease: l } = await lease(user, { credential: "exp/key", ttl: "5m" });
    await clock.at(MINUTE);
    await expectStatus(await renew(user, l.id, "5m"), 200);
    const revoked = await expectStatus<LeaseBody>(await revoke(user, l.id), 200);
    expect(revoked).toMatchObject({ state: "revoked", ended_at: clock.iso(MINUTE) });
    const refused = await expectStatus<ErrorResponse>(await renew(user, l.id, "5m"), 409);
    expect(refused.error.message).toContain("revoked");
    await expectStatus(await revoke(user, l.id), 409);
    // The alarm does not turn a revoked lease into an expired one.
    await clock.at(7 * MINUTE);
    await clock.runAlarm();
    expect((await getLease(user, l.id)).state).toBe("revoked");
  });
});
