import { abortAllDurableObjects, env, runInDurableObject } from "cloudflare:test";
import { expect, it } from "vitest";
import { vaultStub } from "../../../worker/routes/define";
import { api, expectStatus } from "../helpers";
import { auditRows, smallChain, verify } from "./helpers";

it("the DO evicted between appends: a new instance continues the chain from the stored head", async () => {
  const { tenantId, adminToken, user, size } = await smallChain(3);
  const before = await auditRows(tenantId);
  const stub = vaultStub(env, tenantId);
  const firstInstance = await runInDurableObject(stub, (instance) => instance);

  await abortAllDurableObjects();
  const fresh = vaultStub(env, tenantId);
  // Proof the eviction happened: a different object instance serves the same id afterwards.
  expect(await runInDurableObject(fresh, (instance) => instance)).not.toBe(firstInstance);

  for (let i = 0; i < 3; i++)
    await expectStatus(await api(user, "POST", "/v1/leases", { credential: "db", purpose: `after-${i}` }), 201);
  await abortAllDurableObjects();
  await expectStatus(await api(adminToken, "POST", "/v1/credentials", { name: "second", value: "v2" }), 201);

  const after = await auditRows(tenantId);
  expect(after.slice(0, size)).toEqual(before); // nothing before the eviction changed
  expect(after.map((r) => r.seq)).toEqual(Array.from({ length: size + 4 }, (_, i) => i + 1));
  // The first entry after each restart links to the head written before it.
  expect(JSON.parse(after[size]!.entry)).toMatchObject({
    seq: size + 1,
    prev_hash: before[size - 1]!.hash,
    type: "lease.created",
  });
  expect(JSON.parse(after[size + 3]!.entry)).toMatchObject({
    seq: size + 4,
    prev_hash: after[size + 2]!.hash,
    type: "credential.created",
  });
  expect(await verify(adminToken)).toMatchObject({ ok: true, checked: size + 4 });
});
