import { abortAllDurableObjects } from "cloudflare:test";
import { expect, it } from "vitest";
import { AuditForkError, MemoryCheckpointMemory } from "../../../sdk/audit-memory";
import { verifyAuditExport } from "../../../sdk/audit-verify";
import { canonicalize, type JsonValue } from "../../../worker/core/audit/canonical-json";
import { api, expectStatus } from "../helpers";
import { auditRows, sha256Hex, smallChain, verify, withSql } from "./helpers";

/**
 * Issue 10 §5, the part that is built: someone with write access to a tenant's Durable Object
 * storage rewrites its chain (every hash and link recomputed) and deletes its checkpoints, and the
 * object restarts. The vault then signs the forged head and its own verify passes; only a client
 * that remembered an earlier checkpoint can tell, and it reports a fork.
 */

async function exportLines(token: string): Promise<string[]> {
  return (await (await api(token, "GET", "/v1/audit/export")).text()).trim().split("\n");
}

it("a chain rewritten in storage with its checkpoints deleted is re-signed by the vault, and a client that remembers reports a fork", async () => {
  const { tenantId, adminToken } = await smallChain();
  const { verifier_key } = await expectStatus<{ verifier_key: string }>(await api(null, "GET", "/v1/audit/public-key"), 200);
  const memory = new MemoryCheckpointMemory();
  expect(await verifyAuditExport(await exportLines(adminToken), verifier_key, { tenant: tenantId, memory })).toMatchObject({ ok: true });
  const seen = (await memory.get(`vault.test/audit/${tenantId}`))!;
  expect(seen.size).toBeGreaterThan(3);

  // The rewrite: entry 3's actor changed, every later link and hash recomputed, checkpoints gone.
  const rows = await auditRows(tenantId);
  await withSql(tenantId, (sql) => {
    let prev = rows[1]!.hash;
    for (const row of rows.slice(2)) {
      const entry = JSON.parse(row.entry) as { prev_hash: string; actor: { identity: string }; seq: number };
      entry.prev_hash = prev;
      if (entry.seq === 3) entry.actor = { identity: "user:nobody@test" };
      const text = canonicalize(entry as unknown as JsonValue);
      prev = sha256Hex(text);
      sql.exec("UPDATE audit SET entry = ?, hash = ?, identity = ? WHERE seq = ?", text, prev, entry.actor.identity, row.seq);
    }
    sql.exec("DELETE FROM checkpoints");
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
