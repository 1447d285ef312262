import { abortAllDurableObjects, env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { vaultStub } from "../../../worker/routes/define";
import { api, bootstrap, expectStatus, tokenWithRole } from "../helpers";
import { arm } from "../outbox/outbox-helpers";
import { drainKekSweep } from "../kek/inspect";
import { lease, makeCredential, type ErrorResponse } from "./lease-helpers";

/**
 * The object's stored copy of a credential's rows and current ciphertext (storage/
 * credential-copies.ts, issue 16 goals 4 and 5): a cold object's first lease reads no D1, and the
 * copy is emptied on exactly the writes that empty the memory cache, crash or no crash, so it
 * never serves a version, ACL or TTL the object has moved past. D1 is changed behind the object's
 * back below only to prove which copy was read.
 */

async function tenant() {
  const { tenantId, adminToken } = await bootstrap();
  const manager = await tokenWithRole(adminToken, "manager", "user:manager@acme.test");
  const user = await tokenWithRole(adminToken, "user", "agent:worker@host");
  return { tenantId, adminToken, manager, user };
}

type Copy = { credential_id: string; name: string; version: number; copied_at: number };

async function copies(tenantId: string): Promise<Copy[]> {
  return runInDurableObject(vaultStub(env, tenantId), (_i, state) =>
    state.storage.sql
      .exec<{ credential_id: string; name: string; current: string; copied_at: number }>(
        "SELECT credential_id, name, current, copied_at FROM credential_copies ORDER BY name",
      )
      .toArray()
      .map((r) => ({
        credential_id: r.credential_id,
        name: r.name,
        version: (JSON.parse(r.current) as { version: number }).version,
        copied_at: r.copied_at,
      })),
  );
}

async function inObject(tenantId: string, statement: string, ...params: (string | number)[]): Promise<void> {
  await runInDurableObject(vaultStub(env, tenantId), (_i, state) => {
    state.storage.sql.exec(statement, ...params);
  });
}

/** Someone with D1 write access rolls a credential's current version back. */
async function rollBackInD1(credentialId: string, version: number): Promise<void> {
  const result = await env.DB.prepare("UPDATE credentials SET current_version = ? WHERE id = ?")
    .bind(version, credentialId)
    .run();
  expect(result.meta.changes).toBe(1);
}

async function hideFromD1(credentialId: string): Promise<void> {
  await env.DB.prepare("UPDATE credentials SET name = 'hidden/' || id WHERE id = ?").bind(credentialId).run();
}

const leaseRaw = (token: string, credential: string) => api(token, "POST", "/v1/leases", { credential, ttl: "5m" });

describe("the object's stored copy of a credential", () => {
  it("is written when a create lands, and a cold object's first lease is served from it without D1", async () => {
    const { tenantId, manager, user } = await tenant();
    const cred = await makeCredential(manager, "svc/api", "v1-value");
    expect(await copies(tenantId)).toEqual([
      expect.objectContaining({ credential_id: cred.id, name: "svc/api", version: 1 }),
    ]);

    // D1's row renamed away: by name, D1 no longer finds it. The cold object still leases it.
    await hideFromD1(cred.id);
    await abortAllDurableObjects();
    expect((await lease(user, { credential: "svc/api", ttl: "5m" })).value).toBe("v1-value");

    // Control: without the copy the cold object asks D1, which no longer has that name.
    await inObject(tenantId, "DELETE FROM credential_copies");
    await abortAllDurableObjects();
    expect((await expectStatus<ErrorResponse>(await leaseRaw(user, "svc/api"), 404)).error.code).toBe("not_found");
  });

  it("lets a restarted object lease while D1 is down; a credential without a copy fails closed", async () => {
    const { tenantId, manager, user } = await tenant();
    await makeCredential(manager, "svc/copied", "copied-value");
    await makeCredential(manager, "svc/uncopied", "uncopied-value");
    await inObject(tenantId, "DELETE FROM credential_copies WHERE name = 'svc/uncopied'");
    await abortAllDurableObjects();
    await arm(tenantId, { d1Reads: "fail", d1Writes: "fail" });
    expect((await lease(user, { credential: "svc/copied", ttl: "5m" })).value).toBe("copied-value");
    expect((await expectStatus<ErrorResponse>(await leaseRaw(user, "svc/uncopied"), 503)).error.code).toBe(
      "unavailable",
    );
    // Positive control: with D1 back, the other one leases too.
    await arm(tenantId, null);
    expect((await lease(user, { credential: "svc/uncopied", ttl: "5m" })).value).toBe("uncopied-value");
  });

  it("is dropped by a rotation and refilled by the next lease with the new version", async () => {
    const { tenantId, manager, user } = await tenant();
    const cred = await makeCredential(manager, "svc/api", "v1-value");
    await expectStatus(await api(manager, "POST", "/v1/credentials/svc%2Fapi/rotate", { value: "v2-value" }), 200);
    expect(await copies(tenantId)).toEqual([]);
    await abortAllDurableObjects();
    expect((await lease(user, { credential: cred.id, ttl: "5m" })).value).toBe("v2-value");
    expect(await copies(tenantId)).toEqual([expect.objectContaining({ credential_id: cred.id, version: 2 })]);
  });

  it("never outlives an ACL change, even when the object dies between the change's intent and D1", async () => {
    const { tenantId, manager, user } = await tenant();
    await makeCredential(manager, "svc/api", "v1-value");
    await makeCredential(manager, "svc/control", "control-value");
    await lease(user, { credential: "svc/api", ttl: "5m" });
    const onlyManager = { rules: [{ effect: "allow", identity: "user:manager@acme.test" }], agent_visible: false };

    // Positive control: the same change on another credential, no fault.
    await expectStatus(await api(manager, "PUT", "/v1/credentials/svc%2Fcontrol/acl", onlyManager), 200);
    await abortAllDurableObjects();
    expect((await expectStatus<ErrorResponse>(await leaseRaw(user, "svc/control"), 403)).error.code).toBe("acl_denied");

    await arm(tenantId, { abortAt: "after-outbox-commit" });
    expect((await api(manager, "PUT", "/v1/credentials/svc%2Fapi/acl", onlyManager)).status).toBeGreaterThanOrEqual(
      500,
    );
    expect((await copies(tenantId)).map((c) => c.name)).not.toContain("svc/api");
    // D1 does not have the new ACL yet; the new instance applies it before serving the read.
    expect((await expectStatus<ErrorResponse>(await leaseRaw(user, "svc/api"), 403)).error.code).toBe("acl_denied");
    expect((await lease(manager, { credential: "svc/api", ttl: "5m" })).value).toBe("v1-value");
  });

  it("serves the object's version, never a rollback in D1; past its age D1 is read, and the rollback refused", async () => {
    const { tenantId, manager, user } = await tenant();
    const cred = await makeCredential(manager, "svc/api", "v1-value");
    await expectStatus(await api(manager, "POST", "/v1/credentials/svc%2Fapi/rotate", { value: "v2-value" }), 200);
    await lease(user, { credential: "svc/api", ttl: "5m" });
    await rollBackInD1(cred.id, 1);
    await abortAllDurableObjects();
    expect(await lease(user, { credential: "svc/api", ttl: "5m" })).toMatchObject({
      value: "v2-value",
      lease: { version: 2 },
    });

    // An hour later (the copy's maximum age) the object reads D1 again and sees the rollback.
    await inObject(tenantId, "UPDATE credential_copies SET copied_at = copied_at - 3600000");
    await abortAllDurableObjects();
    const refused = await expectStatus<ErrorResponse>(await leaseRaw(user, "svc/api"), 500);
    expect(refused.error.code).toBe("integrity_error");
    expect(JSON.stringify(refused)).not.toContain("v1-value");
    expect(await copies(tenantId)).toEqual([]);
  });

  it("that disagrees with the object's head (storage changed) is not served: D1 is read instead", async () => {
    const { tenantId, manager, user } = await tenant();
    const cred = await makeCredential(manager, "svc/api", "v1-value");
    await lease(user, { credential: "svc/api", ttl: "5m" });
    // The copy's row claims another version than the head: not served.
    await inObject(
      tenantId,
      "UPDATE credential_copies SET credential = json_set(credential, '$.currentVersion', 7), current = json_set(current, '$.version', 7)",
    );
    await abortAllDurableObjects();
    expect((await lease(user, { credential: cred.id, ttl: "5m" })).value).toBe("v1-value");
    // The disagreement emptied the copies; the next read keeps D1's, which agrees with the head.
    expect(await copies(tenantId)).toEqual([]);
    expect((await lease(user, { credential: cred.id, ttl: "5m" })).value).toBe("v1-value");
    expect(await copies(tenantId)).toEqual([expect.objectContaining({ version: 1 })]);
    // Malformed: dropped and read from D1.
    await inObject(tenantId, "UPDATE credential_copies SET current = 'not json'");
    await abortAllDurableObjects();
    expect((await lease(user, { credential: cred.id, ttl: "5m" })).value).toBe("v1-value");
  });

  it("is deleted with the credential and when a KEK rotation destroys the old KEK", async () => {
    const { tenantId, adminToken, manager, user } = await tenant();
    await makeCredential(manager, "svc/api", "v1-value");
    await makeCredential(manager, "svc/gone", "gone-value");
    await expectStatus(await api(manager, "DELETE", "/v1/credentials/svc%2Fgone"), 204);
    expect((await copies(tenantId)).map((c) => c.name)).toEqual(["svc/api"]);

    await expectStatus(await api(adminToken, "POST", "/v1/admin/kek/rotate"), 202);
    await drainKekSweep(tenantId, adminToken);
    // The copy named KEK version 1, which is destroyed: it went with it.
    expect(await copies(tenantId)).toEqual([]);
    await abortAllDurableObjects();
    expect((await lease(user, { credential: "svc/api", ttl: "5m" })).value).toBe("v1-value");
    expect((await expectStatus<ErrorResponse>(await leaseRaw(user, "svc/gone"), 404)).error.code).toBe("not_found");
  });
});
