/**
 * Online fork detection (`vault.audit.checkHead`, sdk/audit-monitor.ts): the newest signed Merkle
 * checkpoint is checked with the caller's key and proved, by an RFC 6962 consistency proof from
 * the vault, to extend the checkpoint the client remembered. The storage rewrite itself (the
 * vault re-signing a forged history) is in test/workers/witness/vault-witness.test.ts; here the
 * remembered side is forged instead, which is what a vault showing two histories looks like to
 * one client. Positive controls: the honest log passes at every step and memory moves forward.
 */
import { describe, expect, it } from "vitest";
import { AuditForkError, MemoryCheckpointMemory, type RememberedCheckpoint } from "../../../sdk/audit-memory";
import { checkAuditHead } from "../../../sdk/audit-monitor";
import { TEST_WITNESS, TEST_WITNESS_VKEY } from "../../witness-env";
import { testKey } from "../../node/support/audit-export-fixture";
import { api, expectStatus, sdkClient as client } from "../helpers";
import { smallChain } from "./helpers";

async function vkey(): Promise<string> {
  const { verifier_key } = await expectStatus<{ verifier_key: string }>(
    await api(null, "GET", "/v1/audit/public-key"),
    200,
  );
  return verifier_key;
}

const lease = async (user: string, purpose: string) =>
  expectStatus(await api(user, "POST", "/v1/leases", { credential: "db", purpose }), 201);

describe("audit checkHead", () => {
  it("remembers the head on first use, then proves each newer head extends it", async () => {
    const { tenantId, adminToken, user } = await smallChain();
    const vault = client(adminToken);
    const memory = new MemoryCheckpointMemory();
    const key = await vkey();
    const first = await vault.audit.checkHead(key, { memory });
    expect(first).toMatchObject({ ok: true, provedFrom: null });
    const origin = `vault.test/audit/v2/${tenantId}`;
    expect(await memory.get(origin)).toMatchObject({ size: first.ok ? first.size : -1 });

    await lease(user, "more");
    const second = await vault.audit.checkHead(key, { memory });
    expect(second).toMatchObject({ ok: true, provedFrom: first.ok ? first.size : -1 });
    expect(second.ok && first.ok && second.size > first.size).toBe(true);
    expect(await memory.get(origin)).toMatchObject({ size: second.ok ? second.size : -1 });
    // The same head again: nothing to prove, memory unchanged.
    expect(await vault.audit.checkHead(key, { memory, fresh: false })).toMatchObject({
      ok: true,
      size: second.ok && second.size,
    });

    // With the witness quorum the counted checkpoint is a cosigned one.
    const witnessed = await vault.audit.checkHead(key, { memory, witnesses: { keys: [TEST_WITNESS_VKEY], quorum: 1 } });
    expect(witnessed).toMatchObject({ ok: true, cosignedBy: [TEST_WITNESS.name] });
  });

  it("a remembered checkpoint the vault's log does not extend is a fork; a larger one is a rollback", async () => {
    const { tenantId, adminToken, user } = await smallChain();
    const vault = client(adminToken);
    const key = await vkey();
    const honest = new MemoryCheckpointMemory();
    const seen = await vault.audit.checkHead(key, { memory: honest });
    if (!seen.ok) throw new Error(seen.reason);
    const remembered = (await honest.get(`vault.test/audit/v2/${tenantId}`))!;
    await lease(user, "later");

    const forged = async (change: Partial<RememberedCheckpoint>) => {
      const memory = new MemoryCheckpointMemory();
      await memory.set({ ...remembered, ...change });
      return { memory, error: await vault.audit.checkHead(key, { memory }).catch((e: unknown) => e) };
    };
    // Another root at the remembered size: the consistency proof from it cannot verify.
    const other = await forged({ hash: "00".repeat(32) });
    expect(other.error).toBeInstanceOf(AuditForkError);
    expect(other.error).toMatchObject({ message: expect.stringMatching(/cannot prove the tree of \d+ is a prefix/) });
    // Memory is not moved onto the vault's head after a fork.
    expect(await other.memory.get(remembered.origin)).toMatchObject({ hash: "00".repeat(32) });
    // More entries remembered than the vault now shows: rollback.
    const rollback = await forged({ size: remembered.size + 1000 });
    expect(rollback.error).toBeInstanceOf(AuditForkError);
    expect(rollback.error).toMatchObject({ message: expect.stringMatching(/before the \d+ entries seen earlier/) });
    // Positive control: the honest memory passes, proved from the size it remembered.
    expect(await vault.audit.checkHead(key, { memory: honest })).toMatchObject({
      ok: true,
      provedFrom: remembered.size,
    });
  });

  it("trusts only the caller's key and the tenant in the caller's token", async () => {
    const { tenantId, adminToken } = await smallChain();
    const other = await smallChain();
    const vault = client(adminToken);
    const key = await vkey();
    // Another tenant's checkpoints (as a vault could serve them) are refused for this tenant.
    const crossed = await checkAuditHead(client(other.adminToken).audit, key, { tenant: tenantId });
    expect(crossed).toMatchObject({ ok: false, reason: expect.stringMatching(/origin/) });
    // A key that is not the vault's: every checkpoint fails its signature check.
    const stranger = (await testKey(7, "vault.test/audit/v2")).vkey;
    expect(await vault.audit.checkHead(stranger)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/signature/),
    });
    expect(await vault.audit.checkHead("not a key")).toMatchObject({
      ok: false,
      reason: "the verifier key is not a valid Ed25519 signed-note key",
    });
    // Positive control.
    expect(await vault.audit.checkHead(key)).toMatchObject({ ok: true, provedFrom: null });
  });
});
