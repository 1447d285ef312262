import { abortAllDurableObjects } from "cloudflare:test";
import { expect, it } from "vitest";
import { AuditForkError, MemoryCheckpointMemory } from "../../../sdk/audit-memory";
import { verifyAuditExport } from "../../../sdk/audit-verify";
import { api, expectStatus } from "../helpers";
import { backfillMerkle } from "../../../durable-objects/audit/merkle-store";
import { auditRows, rewriteChain, smallChain, verify, withSql } from "./helpers";

/**
 * Issue 10 §5, the part that is built here: someone with write access to a tenant's Durable
 * Object storage rewrites its chain (every hash and link recomputed) and deletes its checkpoints,
 * and the object restarts. Since the Merkle cut-over, a rewrite that leaves the stored tree alone
 * is caught by the vault itself (its checkpoints carry the tree's root); one that rebuilds the
 * tree too is signed by the vault, and only a client that remembered an earlier checkpoint (or a
 * witness, test/workers/witness) can tell: it reports a fork.
 */

async function exportLines(token: string): Promise<string[]> {
  return (await (await api(token, "GET", "/v1/audit/export")).text()).trim().split("\n");
}

it("a chain rewritten in storage with its checkpoints deleted but the Merkle tree left alone fails the vault's own verify", async () => {
  const { tenantId, adminToken } = await smallChain();
  const { verifier_key } = await expectStatus<{ verifier_key: string }>(
    await api(null, "GET", "/v1/audit/public-key"),
    200,
  );
  // Positive control: the untouched log verifies offline and (covered by the export's checkpoint) on the server.
  expect(await verifyAuditExport(await exportLines(adminToken), verifier_key, { tenant: tenantId })).toMatchObject({
    ok: true,
  });
  expect(await verify(adminToken, "", { strict: true })).toMatchObject({ ok: true });
  const rows = await auditRows(tenantId);
  await withSql(tenantId, (sql) => rewriteChain(sql, rows));
  await abortAllDurableObjects();
  // The export has the vault sign the head from its stored tree, whose root no longer matches the entries.
  const lines = await exportLines(adminToken);
  expect(await verifyAuditExport(lines, verifier_key, { tenant: tenantId })).toMatchObject({
    ok: false,
    reason: expect.stringMatching(/Merkle root/),
  });
  expect(await verify(adminToken, "", { strict: true })).toMatchObject({
    ok: false,
    reason: expect.stringMatching(/Merkle root/),
  });
});

it("a chain and its Merkle tree rewritten in storage with its checkpoints deleted is re-signed by the vault, and a client that remembers reports a fork", async () => {
  const { tenantId, adminToken } = await smallChain();
  const { verifier_key } = await expectStatus<{ verifier_key: string }>(
    await api(null, "GET", "/v1/audit/public-key"),
    200,
  );
  const memory = new MemoryCheckpointMemory();
  expect(
    await verifyAuditExport(await exportLines(adminToken), verifier_key, { tenant: tenantId, memory }),
  ).toMatchObject({ ok: true });
  const seen = (await memory.get(`vault.test/audit/v2/${tenantId}`))!;
  expect(seen.size).toBeGreaterThan(3);

  // The rewrite, with the tree rebuilt from the forged entries (and the cut-over row dropped).
  const rows = await auditRows(tenantId);
  await withSql(tenantId, (sql, storage) => {
    rewriteChain(sql, rows);
    sql.exec("DELETE FROM audit_hashes");
    sql.exec("DELETE FROM audit_cutover");
    while (backfillMerkle(storage) === "more");
  });
  await abortAllDurableObjects();

  // The vault cannot tell: it signs the forged head on export and its own verify passes.
  const forged = await exportLines(adminToken);
  expect(await verify(adminToken, "", { strict: true })).toMatchObject({ ok: true, unsigned_tail: 0 });
  // Positive control: a client with no memory accepts the forged export (it is signed by the key).
  expect(await verifyAuditExport(forged, verifier_key, { tenant: tenantId })).toMatchObject({ ok: true });
  // The client that remembered an earlier checkpoint does not.
  const error = await verifyAuditExport(forged, verifier_key, { tenant: tenantId, memory }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(AuditForkError);
  expect(error).toMatchObject({ remembered: { size: seen.size, hash: seen.hash } });
  expect((error as AuditForkError).found.hash).not.toBe(seen.hash);
});
