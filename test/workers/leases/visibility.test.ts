import { describe, expect, it } from "vitest";
import { api, bootstrap, expectStatus, tokenWithRole } from "../helpers";
import {
  getLease,
  lease,
  listAll,
  makeCredential,
  MISSING_LEASE_ID,
  type ErrorResponse,
  type LeaseBody,
} from "./lease-helpers";

const ALICE = "agent:alice@laptop";
const BOB = "agent:bob@desktop";

/** Alice (user and viewer tokens), Bob (user), a manager; one lease each for Alice and Bob. */
async function setup() {
  const { adminToken } = await bootstrap();
  const alice = await tokenWithRole(adminToken, "user", ALICE);
  const aliceViewer = await tokenWithRole(adminToken, "viewer", ALICE);
  const bob = await tokenWithRole(adminToken, "user", BOB);
  const manager = await tokenWithRole(adminToken, "manager", "user:manager@acme.test");
  await makeCredential(adminToken, "vis/key", "vis-secret");
  const { lease: aliceLease } = await lease(alice, { credential: "vis/key", ttl: "10m" });
  const { lease: bobLease } = await lease(bob, { credential: "vis/key", ttl: "10m" });
  return { adminToken, alice, aliceViewer, bob, manager, aliceLease, bobLease };
}

/** The status and the error's code and message: what a caller can tell two refusals apart by. */
async function refusal(res: Response): Promise<{ status: number; code: string; message: string }> {
  const body = (await res.json()) as ErrorResponse;
  return { status: res.status, code: body.error.code, message: body.error.message };
}

describe("lease visibility", () => {
  it("viewers and users list only their own identity's leases; a manager lists all", async () => {
    const { alice, aliceViewer, bob, manager, aliceLease, bobLease } = await setup();
    expect((await listAll(aliceViewer)).map((l) => l.id)).toEqual([aliceLease.id]);
    expect((await listAll(alice)).map((l) => l.id)).toEqual([aliceLease.id]);
    expect((await listAll(bob)).map((l) => l.id)).toEqual([bobLease.id]);
    expect((await listAll(manager)).map((l) => l.id).sort()).toEqual([aliceLease.id, bobLease.id].sort());
    // Asking for another identity's leases by filter is refused below manager, granted to a manager.
    await expectStatus(await api(aliceViewer, "GET", `/v1/leases?identity=${encodeURIComponent(BOB)}`), 403);
    expect((await listAll(manager, `identity=${encodeURIComponent(BOB)}`)).map((l) => l.id)).toEqual([bobLease.id]);
  });

  it("answers another identity's lease exactly like a missing one (404), and a manager sees it", async () => {
    const { aliceViewer, bob, manager, aliceLease, bobLease } = await setup();
    const missing = await refusal(await api(aliceViewer, "GET", `/v1/leases/${MISSING_LEASE_ID}`));
    expect(missing).toMatchObject({ status: 404, code: "not_found" });
    expect(await refusal(await api(aliceViewer, "GET", `/v1/leases/${bobLease.id}`))).toEqual(missing);
    expect(await refusal(await api(bob, "GET", `/v1/leases/${aliceLease.id}`))).toEqual(missing);
    // Positive controls: each sees its own; the manager sees both.
    expect((await getLease(aliceViewer, aliceLease.id)).identity).toBe(ALICE);
    expect((await getLease(bob, bobLease.id)).identity).toBe(BOB);
    expect((await getLease(manager, aliceLease.id)).id).toBe(aliceLease.id);
    expect((await getLease(manager, bobLease.id)).id).toBe(bobLease.id);
  });

  it("a user renews and revokes their own lease but gets 404 for another's; a manager revokes any", async () => {
    const { alice, bob, manager, aliceLease, bobLease } = await setup();
    const missing = await refusal(await api(bob, "POST", `/v1/leases/${MISSING_LEASE_ID}/renew`, { ttl: "5m" }));
    expect(missing.status).toBe(404);
    expect(await refusal(await api(bob, "POST", `/v1/leases/${aliceLease.id}/renew`, { ttl: "5m" }))).toEqual(missing);
    expect(await refusal(await api(bob, "DELETE", `/v1/leases/${aliceLease.id}`))).toEqual(
      await refusal(await api(bob, "DELETE", `/v1/leases/${MISSING_LEASE_ID}`)),
    );
    expect((await getLease(alice, aliceLease.id)).state).toBe("active");

    await expectStatus(await api(bob, "POST", `/v1/leases/${bobLease.id}/renew`, { ttl: "5m" }), 200);
    expect((await expectStatus<LeaseBody>(await api(bob, "DELETE", `/v1/leases/${bobLease.id}`), 200)).state).toBe(
      "revoked",
    );
    await expectStatus(await api(alice, "POST", `/v1/leases/${aliceLease.id}/renew`, { ttl: "5m" }), 200);

    const byManager = await expectStatus<LeaseBody>(await api(manager, "DELETE", `/v1/leases/${aliceLease.id}`), 200);
    expect(byManager).toMatchObject({ state: "revoked", identity: ALICE });
    expect(byManager.revoked_by).not.toBeNull();
    expect(byManager.revoked_by).not.toBe(aliceLease.token_id);
  });

  it("refuses a viewer a lease (403, audited) while a user of the same identity gets one", async () => {
    const { adminToken, alice, aliceViewer } = await setup();
    const refused = await api(aliceViewer, "POST", "/v1/leases", { credential: "vis/key" });
    const body = await expectStatus<ErrorResponse & { value?: string }>(refused, 403);
    expect(body.error.code).toBe("forbidden");
    expect(body.value).toBeUndefined();
    const { value } = await lease(alice, { credential: "vis/key" });
    expect(value).toBe("vis-secret");
    const denied = await expectStatus<{ items: { entry: { actor: { identity: string }; outcome: string } }[] }>(
      await api(adminToken, "GET", "/v1/audit?type=lease.denied"),
      200,
    );
    expect(denied.items.map((i) => i.entry)).toMatchObject([{ actor: { identity: ALICE }, outcome: "denied" }]);
  });

  it("refuses a viewer renew and revoke of their own identity's lease (403) that a user may do", async () => {
    const { alice, aliceViewer, aliceLease } = await setup();
    await expectStatus(await api(aliceViewer, "POST", `/v1/leases/${aliceLease.id}/renew`, { ttl: "5m" }), 403);
    await expectStatus(await api(aliceViewer, "DELETE", `/v1/leases/${aliceLease.id}`), 403);
    await expectStatus(await api(alice, "POST", `/v1/leases/${aliceLease.id}/renew`, { ttl: "5m" }), 200);
    await expectStatus(await api(alice, "DELETE", `/v1/leases/${aliceLease.id}`), 200);
  });
});
