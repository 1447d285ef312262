import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { operatorPlane } from "../../../worker/middleware/operator-auth";
import { vaultStub } from "../../../worker/routes/define";
import { api, createCredential, expectStatus } from "../helpers";
import { auditRows, verify } from "../audit-log/helpers";
import { decryptStored, hex, storedVersions } from "../kek/inspect";
import { lease } from "../leases/lease-helpers";
import { job, runJob, startJob, tenants } from "./helpers";

/**
 * Issue 13 §2: root-key rotation rewraps every tenant's live KEK versions under the KMS's current
 * root key (re-encrypt in the KMS), never touching DEKs or values; it survives the OperatorPlane
 * dying mid-batch (after the tenants acted, before their results were saved) and repeats nothing.
 */

type KekRow = {
  version: number;
  state: string;
  wrapped_kek: ArrayBuffer | null;
  root_key: string | null;
  root_job: string | null;
};
async function kekRows(tenantId: string): Promise<KekRow[]> {
  const { results } = await env.DB.prepare(
    "SELECT version, state, wrapped_kek, root_key, root_job FROM tenant_keks WHERE tenant_id = ? ORDER BY version",
  )
    .bind(tenantId)
    .all<KekRow>();
  return results;
}

describe("root-key rotation", () => {
  it("rewraps every tenant's live KEKs under the current root; a crash mid-job resumes; values and DEKs byte-identical; all still lease", async () => {
    const fleet = await tenants(4, "root");
    for (const t of fleet) {
      await createCredential(t.adminToken, "api/key", `key-${t.tenantId}`);
      await createCredential(t.adminToken, "db/url", `url-${t.tenantId}`);
    }
    // One tenant mid-rotation: KEK v1 decrypt-only (its DEKs not yet swept) and v2 active, both live.
    await expectStatus(await api(fleet[3]!.adminToken, "POST", "/v1/admin/kek/rotate"), 202);
    const before = new Map<string, { keks: KekRow[]; versions: Awaited<ReturnType<typeof storedVersions>> }>();
    for (const t of fleet)
      before.set(t.tenantId, { keks: await kekRows(t.tenantId), versions: await storedVersions(t.tenantId) });
    expect(before.get(fleet[3]!.tenantId)!.keks.map((k) => k.state)).toEqual(["decrypt_only", "active"]);

    const started = await startJob({ kind: "rewrap_root", tenants: fleet.map((t) => t.tenantId) });
    // The object dies after the first batch's tenants rewrapped, before it saved their results.
    await operatorPlane(env).crashAfterCallsForTest();
    await expect(runDurableObjectAlarm(operatorPlane(env))).rejects.toThrow();
    const mid = await job(started.id);
    expect(mid.state).toBe("running");
    expect(mid.progress).toMatchObject({ pending: 4, done: 0 });
    const rewrappedBeforeCrash = [];
    for (const t of fleet)
      if ((await kekRows(t.tenantId)).every((k) => k.root_job === started.id)) rewrappedBeforeCrash.push(t.tenantId);
    expect(rewrappedBeforeCrash).toHaveLength(3);

    const done = await runJob(started.id);
    expect(done.progress).toEqual({ total: 4, pending: 0, done: 4, failed: 0 });
    const results = done.tenants.map((t) => t.result as { rewrapped: number[]; already: number[]; root_key: string });
    // The three tenants of the first batch were rewrapped before the crash: the resumed calls find
    // nothing left to do. The fourth is rewrapped once.
    expect(results.filter((r) => r.rewrapped.length === 0 && r.already.length > 0)).toHaveLength(3);
    expect(results.every((r) => r.root_key === "aws:alias/ghostvault-test")).toBe(true);

    for (const t of fleet) {
      const was = before.get(t.tenantId)!;
      const now = await kekRows(t.tenantId);
      expect(now.map((k) => [k.version, k.state, k.root_key, k.root_job])).toEqual(
        was.keks.map((k) => [k.version, k.state, "aws:alias/ghostvault-test", started.id]),
      );
      // A new KMS ciphertext for each live KEK...
      now.forEach((k, i) => expect(hex(k.wrapped_kek!)).not.toBe(hex(was.keks[i]!.wrapped_kek!)));
      // ...which the object's own copy follows, so a cold object never opens one under the old root.
      const copies = await runInDurableObject(vaultStub(env, t.tenantId), (_i, state) =>
        state.storage.sql
          .exec<{ version: number; wrapped: ArrayBuffer }>("SELECT version, wrapped FROM kek_copies ORDER BY version")
          .toArray()
          .map((r) => [r.version, hex(r.wrapped)]),
      );
      expect(copies).toEqual(now.map((k) => [k.version, hex(k.wrapped_kek!)]));
      // ...and not one byte of any value blob or wrapped DEK changed.
      const versions = await storedVersions(t.tenantId);
      expect(
        versions.map((v) => [v.credential_id, v.version, v.kek_version, hex(v.value_blob), hex(v.wrapped_dek)]),
      ).toEqual(
        was.versions.map((v) => [v.credential_id, v.version, v.kek_version, hex(v.value_blob), hex(v.wrapped_dek)]),
      );
      // The stored bytes open through the new wrapped KEK, independently of the vault's caches.
      expect((await Promise.all(versions.map((v) => decryptStored(t.tenantId, v)))).sort()).toEqual([
        `key-${t.tenantId}`,
        `url-${t.tenantId}`,
      ]);
      expect((await lease(t.adminToken, { credential: "api/key", ttl: "5m" })).value).toBe(`key-${t.tenantId}`);
      const recorded = (await auditRows(t.tenantId))
        .map((r) => JSON.parse(r.entry) as { type: string; actor: { identity: string }; request_id: string })
        .filter((e) => e.type === "kek.root_rewrapped");
      expect(recorded.length).toBeGreaterThan(0);
      expect(recorded.every((e) => e.actor.identity === "operator:root" && e.request_id === started.id)).toBe(true);
      expect(await verify(t.adminToken)).toMatchObject({ ok: true });
    }
  });
});
