import { abortAllDurableObjects, env, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { vaultStub } from "../../../worker/routes/define";
import { api, bootstrap, createCredential, expectStatus } from "../helpers";
import { callStats, control } from "../kms/helpers";
import { drainKekSweep, hex } from "./inspect";

/**
 * The object's copy of its wrapped KEKs (storage/kek-copies.ts, issue 16 goals 4 and 5): a cold
 * object unwraps without reading D1, the copy follows every write of D1's row, and a copy that no
 * longer opens heals from D1. D1 is changed behind the object's back below only to prove which
 * copy was read.
 */

const touched: string[] = [];
afterEach(async () => {
  for (const t of touched.splice(0)) await control(`reset?tenantId=${t}`, { method: "POST" });
});

/** The object's copies, version → hex. */
async function copies(tenantId: string): Promise<Record<number, string>> {
  return runInDurableObject(vaultStub(env, tenantId), (_i, state) =>
    Object.fromEntries(
      state.storage.sql
        .exec<{ version: number; wrapped: ArrayBuffer }>("SELECT version, wrapped FROM kek_copies ORDER BY version")
        .toArray()
        .map((r) => [r.version, hex(r.wrapped)]),
    ),
  );
}

/** D1's wrapped KEKs that are not erased, version → hex. */
async function d1Keks(tenantId: string): Promise<Record<number, string>> {
  const { results } = await env.DB.prepare(
    "SELECT version, wrapped_kek FROM tenant_keks WHERE tenant_id = ? AND wrapped_kek IS NOT NULL ORDER BY version",
  )
    .bind(tenantId)
    .all<{ version: number; wrapped_kek: ArrayBuffer }>();
  return Object.fromEntries(results.map((r) => [r.version, hex(r.wrapped_kek)]));
}

async function setD1Kek(tenantId: string, version: number, wrapped: ArrayBuffer | Uint8Array): Promise<void> {
  await env.DB.prepare("UPDATE tenant_keks SET wrapped_kek = ? WHERE tenant_id = ? AND version = ?")
    .bind(wrapped, tenantId, version)
    .run();
}

async function setCopy(tenantId: string, version: number, wrapped: ArrayBuffer | null): Promise<void> {
  await runInDurableObject(vaultStub(env, tenantId), (_i, state) => {
    if (wrapped === null) state.storage.sql.exec("DELETE FROM kek_copies WHERE version = ?", version);
    else state.storage.sql.exec("UPDATE kek_copies SET wrapped = ? WHERE version = ?", wrapped, version);
  });
}

async function lease(token: string, credential = "db"): Promise<Response> {
  return api(token, "POST", "/v1/leases", { credential, ttl: "5m" });
}

const unhex = (h: string) => new Uint8Array(h.match(/../g)!.map((b) => Number.parseInt(b, 16)));

describe("the object's copy of its wrapped KEKs", () => {
  it("is written at bootstrap and is what a cold object unwraps: D1's ciphertext is not read", async () => {
    const { tenantId, adminToken } = await bootstrap();
    await createCredential(adminToken, "db", "s3cret");
    const d1 = await d1Keks(tenantId);
    expect(await copies(tenantId)).toEqual(d1);

    // D1's wrapped KEK replaced by garbage: a cold object still opens the credential.
    await setD1Kek(tenantId, 1, new Uint8Array(64).fill(7));
    await abortAllDurableObjects();
    const ok = await expectStatus<{ value: string }>(await lease(adminToken), 201);
    expect(ok.value).toBe("s3cret");

    // Control: without the copy the object reads D1, and D1's garbage does not open.
    await setCopy(tenantId, 1, null);
    await abortAllDurableObjects();
    const failed = await lease(adminToken);
    expect(failed.status).toBe(503);
    expect(JSON.stringify(await failed.json())).not.toContain("s3cret");

    // With D1 right again, the first unwrap refills the copy (as for a tenant older than the table).
    await setD1Kek(tenantId, 1, unhex(d1[1]!));
    await abortAllDurableObjects();
    expect((await expectStatus<{ value: string }>(await lease(adminToken), 201)).value).toBe("s3cret");
    expect(await copies(tenantId)).toEqual(d1);
  });

  it("heals from D1 when the KMS refuses the copy, at the cost of one refused call", async () => {
    const { tenantId, adminToken } = await bootstrap();
    const other = await bootstrap("other");
    touched.push(tenantId);
    await createCredential(adminToken, "db", "s3cret");
    // Another tenant's wrapped KEK: a well-formed ciphertext the KMS refuses under this tenant's context.
    await setCopy(tenantId, 1, unhex((await d1Keks(other.tenantId))[1]!).buffer);
    await abortAllDurableObjects();
    await control(`reset?tenantId=${tenantId}`, { method: "POST" });

    expect((await expectStatus<{ value: string }>(await lease(adminToken), 201)).value).toBe("s3cret");
    expect((await callStats(tenantId)).Decrypt).toBe(2);
    expect(await copies(tenantId)).toEqual(await d1Keks(tenantId));

    // Healed: the next cold start opens the copy with one call.
    await abortAllDurableObjects();
    await control(`reset?tenantId=${tenantId}`, { method: "POST" });
    expect((await expectStatus<{ value: string }>(await lease(adminToken), 201)).value).toBe("s3cret");
    expect((await callStats(tenantId)).Decrypt).toBe(1);
  });

  it("is written when a KEK rotation starts and deleted with the version it copies", async () => {
    const { tenantId, adminToken } = await bootstrap();
    await createCredential(adminToken, "db", "s3cret");
    await expectStatus(await api(adminToken, "POST", "/v1/admin/kek/rotate"), 202);
    const both = await d1Keks(tenantId);
    expect(Object.keys(both)).toEqual(["1", "2"]);
    expect(await copies(tenantId)).toEqual(both);

    await drainKekSweep(tenantId, adminToken);
    // Version 1 is destroyed in D1, and its copy is gone with it: nothing can bring it back.
    expect(await d1Keks(tenantId)).toEqual({ 2: both[2] });
    expect(await copies(tenantId)).toEqual({ 2: both[2] });
    await abortAllDurableObjects();
    expect((await expectStatus<{ value: string }>(await lease(adminToken), 201)).value).toBe("s3cret");
    expect(await copies(tenantId)).toEqual({ 2: both[2] });
  });
});
