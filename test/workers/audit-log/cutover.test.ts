import { env } from "cloudflare:test";
import { expect, it } from "vitest";
import { checkpointOrigin, signCheckpoint } from "../../../worker/core/audit/checkpoint";
import { auditSigners } from "../../../worker/core/audit/signing-key";
import { backfillMerkle } from "../../../durable-objects/audit/merkle-store";
import { verifyAuditExport } from "../../../sdk/audit-verify";
import { api, expectStatus } from "../helpers";
import { auditRows, scalar, smallChain, verify, withSql } from "./helpers";

/**
 * The Merkle cut-over (issue 10 §2): a tenant whose log predates the Merkle tree keeps signing
 * hash-chain checkpoints (origin `<host>/audit/<tenant>`) while the alarm builds its tree, then
 * signs only Merkle checkpoints (origin `<host>/audit/v2/<tenant>`) and records the cut-over size.
 * Its old checkpoints stay verifiable under the old rule, on the server and offline.
 */

type Items = { items: { size: number; note: string }[] };

/** A tenant put back in the state of one created before the tree: no tree, no cut-over, no checkpoints. */
async function legacyTenant() {
  const chain = await smallChain(4);
  await withSql(chain.tenantId, (sql) => {
    sql.exec("DELETE FROM audit_hashes");
    sql.exec("DELETE FROM audit_cutover");
    sql.exec("DELETE FROM checkpoints");
  });
  return chain;
}

const origin = (tenantId: string, merkle: boolean) =>
  merkle ? `vault.test/audit/v2/${tenantId}` : `vault.test/audit/${tenantId}`;
const fresh = async (token: string) =>
  (await expectStatus<Items>(await api(token, "GET", "/v1/audit/checkpoints?fresh=true"), 200)).items;
const lease = async (user: string) =>
  expectStatus(await api(user, "POST", "/v1/leases", { credential: "db", purpose: "cutover" }), 201);

it("a log whose tree is still being built signs hash-chain checkpoints, then Merkle ones from the cut-over; both verify", async () => {
  const { tenantId, adminToken, user } = await legacyTenant();
  const before = await fresh(adminToken);
  expect(before).toHaveLength(1);
  expect(before[0]!.note.startsWith(`${origin(tenantId, false)}\n`)).toBe(true);
  expect(await verify(adminToken, "", { strict: true })).toMatchObject({ ok: true, merkle_cutover: null });

  // The alarm's job, run here: build the tree. The next checkpoint is a Merkle one.
  await withSql(tenantId, (_sql, storage) => {
    while (backfillMerkle(storage) === "more");
  });
  await lease(user);
  const after = await fresh(adminToken);
  const head = await scalar(tenantId, "SELECT max(seq) AS n FROM audit");
  expect(after.map((c) => c.size)).toEqual([before[0]!.size, head]);
  expect(after[1]!.note.startsWith(`${origin(tenantId, true)}\n${head}\n`)).toBe(true);
  expect(await scalar(tenantId, "SELECT size AS n FROM audit_cutover")).toBe(head);

  // Both formats verify: on the server (chain head and Merkle root recomputed) and offline.
  expect(await verify(adminToken, "", { strict: true })).toMatchObject({
    ok: true,
    checkpoints: 2,
    merkle_cutover: head,
  });
  const { verifier_key, legacy_verifier_key } = await expectStatus<{
    verifier_key: string;
    legacy_verifier_key: string;
  }>(await api(null, "GET", "/v1/audit/public-key"), 200);
  const lines = (await (await api(adminToken, "GET", "/v1/audit/export")).text()).trim().split("\n");
  expect(lines.filter((l) => l.includes('"kind":"checkpoint"'))).toHaveLength(3);
  // Either verifier key string of the one signing key checks both formats.
  for (const key of [verifier_key, legacy_verifier_key]) {
    expect(await verifyAuditExport(lines, key, { tenant: tenantId })).toMatchObject({
      ok: true,
      checkpoints: 3,
      unsignedTail: 0,
    });
  }
});

it("a hash-chain checkpoint past the cut-over is refused by the server's verify; without it the log verifies", async () => {
  const { tenantId, adminToken, user } = await smallChain(4);
  await fresh(adminToken);
  const cutover = await scalar(tenantId, "SELECT size AS n FROM audit_cutover");
  await lease(user);
  await fresh(adminToken);
  expect(await verify(adminToken, "", { strict: true })).toMatchObject({ ok: true, merkle_cutover: cutover });
  // A correctly signed hash-chain note for a size after the cut-over: the vault never signs one.
  const size = cutover + 1;
  const rows = await auditRows(tenantId);
  const { chain } = await auditSigners(env.AUDIT_SIGNING_KEY, "vault.test");
  const note = await signCheckpoint(chain, {
    origin: checkpointOrigin("vault.test", tenantId),
    size,
    hash: rows[size - 1]!.hash,
  });
  const saved = await withSql(
    tenantId,
    (sql) => sql.exec<{ note: string }>("SELECT note FROM checkpoints WHERE size = ?", size).toArray()[0]?.note ?? null,
  );
  await withSql(tenantId, (sql) =>
    sql.exec("INSERT OR REPLACE INTO checkpoints (size, ts, note) VALUES (?, ?, ?)", size, Date.now(), note),
  );
  expect(await verify(adminToken, "", { strict: true })).toMatchObject({
    ok: false,
    seq: size,
    reason: expect.stringMatching(/past the Merkle cut-over/),
  });
  await withSql(tenantId, (sql) =>
    saved === null
      ? sql.exec("DELETE FROM checkpoints WHERE size = ?", size)
      : sql.exec("UPDATE checkpoints SET note = ? WHERE size = ?", saved, size),
  );
  expect(await verify(adminToken, "", { strict: true })).toMatchObject({ ok: true });
});
