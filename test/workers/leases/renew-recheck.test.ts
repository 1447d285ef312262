import { describe, expect, it } from "vitest";
import { api, bootstrap, expectStatus, tokenWithRole } from "../helpers";
import { auditOfType, getLease, lease, makeCredential, MISSING_LEASE_ID, type ErrorResponse } from "./lease-helpers";

/** A tenant with a manager, two users and one credential. */
async function tenant() {
  const { adminToken } = await bootstrap();
  const manager = await tokenWithRole(adminToken, "manager", "user:manager@acme.test");
  const alice = await tokenWithRole(adminToken, "user", "agent:alice@host");
  const bob = await tokenWithRole(adminToken, "user", "agent:bob@host");
  await makeCredential(manager, "svc/key", "the-value", { default_ttl: "5m", max_ttl: "1h" });
  return { adminToken, manager, alice, bob };
}

const renew = (token: string, id: string) => api(token, "POST", `/v1/leases/${id}/renew`, { ttl: "5m" });
const setAcl = (manager: string, rules: { effect: "allow" | "deny"; identity: string }[]) =>
  api(manager, "PUT", "/v1/credentials/svc%2Fkey/acl", { rules });

describe("renewal re-checks what a new lease would check (issue 9 §9)", () => {
  it("renews while the ACL allows the holder; after the ACL denies it, renewal is refused (403) and audited, and the deadline does not move", async () => {
    const { manager, alice } = await tenant();
    const held = await lease(alice, { credential: "svc/key" });
    // Positive control: renewal works while the ACL allows alice.
    const renewed = await expectStatus<{ expires_at: string }>(await renew(alice, held.lease.id), 200);

    await expectStatus(await setAcl(manager, [{ effect: "deny", identity: "agent:alice@*" }]), 200);
    const refused = await expectStatus<ErrorResponse>(await renew(alice, held.lease.id), 403);
    expect(refused.error.code).toBe("acl_denied");
    expect((await getLease(alice, held.lease.id)).expires_at).toBe(renewed.expires_at);

    const denied = await auditOfType(manager, "lease.renew_denied");
    expect(denied).toHaveLength(1);
    expect(denied[0]!.entry).toMatchObject({
      outcome: "denied",
      actor: { identity: "agent:alice@host" },
      details: { lease_id: held.lease.id, reason: "acl_denied", code: "acl_denied" },
    });
    // The new policy also refuses a new lease: renewal agrees with it.
    await expectStatus(await api(alice, "POST", "/v1/leases", { credential: "svc/key" }), 403);
  });

  it("a manager's renewal is checked against the holder's identity, not the manager's", async () => {
    const { manager, alice } = await tenant();
    const held = await lease(alice, { credential: "svc/key" });
    await expectStatus(await renew(manager, held.lease.id), 200);
    await expectStatus(await setAcl(manager, [{ effect: "allow", identity: "user:*" }]), 200);
    expect((await expectStatus<ErrorResponse>(await renew(manager, held.lease.id), 403)).error.code).toBe("acl_denied");
  });

  it("a lease of a deleted credential cannot be renewed (409, audited); one of a live credential can", async () => {
    const { manager, alice } = await tenant();
    await makeCredential(manager, "svc/other", "other-value");
    const doomed = await lease(alice, { credential: "svc/key" });
    const live = await lease(alice, { credential: "svc/other" });
    await expectStatus(await api(manager, "DELETE", "/v1/credentials/svc%2Fkey"), 204);
    expect((await expectStatus<ErrorResponse>(await renew(alice, doomed.lease.id), 409)).error.code).toBe("conflict");
    await expectStatus(await renew(alice, live.lease.id), 200);
    const denied = await auditOfType(manager, "lease.renew_denied");
    expect(denied.map((d) => d.entry.details.reason)).toEqual(["credential_deleted"]);
  });
});

describe("refused renewals and revocations of another identity's lease are audited (issue 9 §7)", () => {
  it("bob gets 404 for alice's lease (as for a missing one) and each attempt leaves a denied entry; alice can renew and revoke it", async () => {
    const { manager, alice, bob } = await tenant();
    const held = await lease(alice, { credential: "svc/key" });

    expect((await expectStatus<ErrorResponse>(await renew(bob, held.lease.id), 404)).error.code).toBe("not_found");
    expect(
      (await expectStatus<ErrorResponse>(await api(bob, "DELETE", `/v1/leases/${held.lease.id}`), 404)).error.code,
    ).toBe("not_found");
    await expectStatus(await renew(bob, MISSING_LEASE_ID), 404);
    expect((await getLease(alice, held.lease.id)).state).toBe("active");

    const renewDenied = await auditOfType(manager, "lease.renew_denied");
    expect(renewDenied.map((d) => [d.entry.actor.identity, d.entry.details.lease_id, d.entry.details.reason])).toEqual([
      ["agent:bob@host", held.lease.id, "not_holder"],
      ["agent:bob@host", MISSING_LEASE_ID, "no_such_lease"],
    ]);
    const revokeDenied = await auditOfType(manager, "lease.revoke_denied");
    expect(
      revokeDenied.map((d) => [
        d.entry.actor.identity,
        d.entry.details.lease_id,
        d.entry.details.reason,
        d.entry.outcome,
      ]),
    ).toEqual([["agent:bob@host", held.lease.id, "not_holder", "denied"]]);

    // Positive controls: the holder renews and revokes, and nothing more is recorded as denied.
    await expectStatus(await renew(alice, held.lease.id), 200);
    await expectStatus(await api(alice, "DELETE", `/v1/leases/${held.lease.id}`), 200);
    expect(await auditOfType(manager, "lease.revoke_denied")).toHaveLength(1);
    expect(await auditOfType(manager, "lease.revoked")).toHaveLength(1);
  });
});
