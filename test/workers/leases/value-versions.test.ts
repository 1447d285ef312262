import { expect, it } from "vitest";
import { api, bootstrap, expectStatus, tokenWithRole } from "../helpers";
import { auditOfType, getLease, lease, makeCredential } from "./lease-helpers";

it("after a rotation a new lease returns the new value as version 2, and an earlier lease keeps version 1", async () => {
  const { adminToken } = await bootstrap();
  const manager = await tokenWithRole(adminToken, "manager", "user:manager@acme.test");
  const user = await tokenWithRole(adminToken, "user", "agent:rotator@host");
  const cred = await makeCredential(manager, "rot/key", "value-one");

  const before = await lease(user, { credential: "rot/key", ttl: "10m" });
  expect(before).toMatchObject({ value: "value-one", lease: { version: 1 } });

  const rotated = await expectStatus<{ current_version: number }>(
    await api(manager, "POST", "/v1/credentials/rot%2Fkey/rotate", { value: "value-two" }),
    200,
  );
  expect(rotated.current_version).toBe(2);

  const after = await lease(user, { credential: cred.id, ttl: "10m" });
  expect(after).toMatchObject({ value: "value-two", lease: { version: 2, credential_id: cred.id } });

  // The earlier lease still records the version it handed out, and is still active.
  expect(await getLease(user, before.lease.id)).toMatchObject({ version: 1, state: "active" });
  expect(await getLease(user, after.lease.id)).toMatchObject({ version: 2, state: "active" });

  const created = await auditOfType(manager, "lease.created");
  expect(created.map((e) => [e.entry.details.lease_id, e.entry.target?.version])).toEqual([
    [before.lease.id, 1],
    [after.lease.id, 2],
  ]);

  // A second rotation moves new leases on again; renewing the old lease does not upgrade it.
  await expectStatus(await api(manager, "POST", "/v1/credentials/rot%2Fkey/rotate", { value: "value-three" }), 200);
  const renewed = await expectStatus<{ version: number }>(
    await api(user, "POST", `/v1/leases/${before.lease.id}/renew`, { ttl: "5m" }),
    200,
  );
  expect(renewed.version).toBe(1);
  expect(await lease(user, { credential: "rot/key" })).toMatchObject({ value: "value-three", lease: { version: 3 } });
});
