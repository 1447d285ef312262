import { expect, it } from "vitest";
import { verifyAuditExport } from "../../../sdk/audit-verify";
import { backfillMerkle } from "../../../durable-objects/audit/merkle-store";
import { canonicalize, type JsonValue } from "../../../worker/core/audit/canonical-json";
import { fromBase64, fromHex } from "../../../worker/core/audit/encoding";
import { api, expectStatus } from "../helpers";
import { auditRows, entryHash, smallChain, verify, withSql, type AuditRow } from "./helpers";

/**
 * Entry versions (docs/audit-events.md "Entry versions"): a v2 entry's hash is SHA-256(0x00 ‖ its
 * bytes), its RFC 6962 leaf hash; a v1 entry's is SHA-256(bytes). A tenant whose log was written
 * as v1 keeps it, appends v2 entries after it, and the whole log verifies in the vault and offline.
 */

/**
 * Rewrites every stored entry as the v1 entry the vault would have written, relinked, with its tree
 * rebuilt and no checkpoint yet (as cutover.test.ts's legacy tenant): the state of a log written
 * before v2, whose object then runs the v2 code.
 */
async function asWrittenByV1(tenantId: string): Promise<void> {
  const rows = await auditRows(tenantId);
  await withSql(tenantId, (sql, storage) => {
    let prev = (JSON.parse(rows[0]!.entry) as { prev_hash: string }).prev_hash;
    for (const row of rows) {
      const entry = { ...(JSON.parse(row.entry) as Record<string, JsonValue>), v: 1, prev_hash: prev };
      const text = canonicalize(entry);
      prev = entryHash(text);
      sql.exec("UPDATE audit SET entry = ?, hash = ? WHERE seq = ?", text, prev, row.seq);
    }
    for (const table of ["audit_hashes", "audit_cutover", "checkpoints"]) sql.exec(`DELETE FROM ${table}`);
    while (backfillMerkle(storage) === "more");
  });
}

const versions = (rows: AuditRow[]) => rows.map((r) => (JSON.parse(r.entry) as { v: number }).v);

async function exportLines(token: string): Promise<string[]> {
  return (await (await api(token, "GET", "/v1/audit/export")).text()).trim().split("\n");
}

it("a log written as v1 and continued as v2 verifies in the vault and offline; a v2 entry's hash is its inclusion proof's leaf", async () => {
  const { tenantId, adminToken, user, size } = await smallChain(4);
  await asWrittenByV1(tenantId);
  for (let i = 0; i < 3; i++)
    await expectStatus(await api(user, "POST", "/v1/leases", { credential: "db", purpose: `v2-${i}` }), 201);
  const rows = await auditRows(tenantId);
  expect(versions(rows)).toEqual([...Array(size).fill(1), 2, 2, 2]);
  // The first v2 entry links to the last v1 entry's (v1-style) hash.
  expect((JSON.parse(rows[size]!.entry) as { prev_hash: string }).prev_hash).toBe(rows[size - 1]!.hash);

  expect(await verify(adminToken)).toMatchObject({ ok: true, checked: size + 3 });
  const lines = await exportLines(adminToken);
  const { verifier_key } = await expectStatus<{ verifier_key: string }>(
    await api(null, "GET", "/v1/audit/public-key"),
    200,
  );
  expect(await verifyAuditExport(lines, verifier_key, { tenant: tenantId })).toMatchObject({ ok: true });
  expect(await verify(adminToken, "", { strict: true })).toMatchObject({ ok: true, unsigned_tail: 0 });

  // Inclusion proofs: a v2 entry's leaf_hash is its stored hash; a v1 entry's is a hash of its own.
  const proof = async (seq: number) =>
    (
      await expectStatus<{ leaf_hash: string }>(
        await api(adminToken, "GET", `/v1/audit/proof/inclusion?seq=${seq}`),
        200,
      )
    ).leaf_hash;
  expect(fromBase64(await proof(size + 1))).toEqual(fromHex(rows[size]!.hash));
  expect(fromBase64(await proof(2))).not.toEqual(fromHex(rows[1]!.hash));
});

it("a v1 entry edited and re-hashed the v1 way is caught at the next link, in the vault and offline", async () => {
  const { tenantId, adminToken, user } = await smallChain(4);
  await asWrittenByV1(tenantId);
  await expectStatus(await api(user, "POST", "/v1/leases", { credential: "db", purpose: "v2" }), 201);
  // Positive control: intact, it verifies.
  expect(await verify(adminToken)).toMatchObject({ ok: true });
  await withSql(tenantId, (sql) => {
    const row = sql.exec<AuditRow>("SELECT * FROM audit WHERE seq = 3").one();
    const entry = JSON.parse(row.entry) as Record<string, JsonValue>;
    const text = canonicalize({ ...entry, outcome: "denied" });
    sql.exec("UPDATE audit SET entry = ?, hash = ? WHERE seq = 3", text, entryHash(text));
  });
  expect(await verify(adminToken)).toMatchObject({ ok: false, seq: 4, reason: expect.stringMatching(/hash of seq 3/) });
  const { verifier_key } = await expectStatus<{ verifier_key: string }>(
    await api(null, "GET", "/v1/audit/public-key"),
    200,
  );
  expect(await verifyAuditExport(await exportLines(adminToken), verifier_key, { tenant: tenantId })).toMatchObject({
    ok: false,
    seq: 4,
  });
});
