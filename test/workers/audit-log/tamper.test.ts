import { describe, expect, it } from "vitest";
import { signCheckpoint } from "../../../worker/core/audit/checkpoint";
import { toHex } from "../../../worker/core/audit/encoding";
import { merkleRoot } from "../../../durable-objects/audit/merkle-store";
import { createSigner } from "../../../worker/core/audit/signed-note";
import { api, expectStatus } from "../helpers";
import { auditRows, scalar, entryHash, smallChain, verify, withSql, type AuditRow } from "./helpers";

/** The entry of row `seq` with `edit` applied to its parsed JSON, re-serialised canonically enough (keys kept in order). */
function edited(row: AuditRow, edit: (e: Record<string, any>) => void): string {
  const e = JSON.parse(row.entry) as Record<string, any>;
  edit(e);
  return JSON.stringify(e);
}

describe("tampering with stored audit rows is reported by verify at the right seq", () => {
  it("an edited entry whose hash is left alone: reported at that seq", async () => {
    const { tenantId, adminToken } = await smallChain();
    const row = (await auditRows(tenantId))[4]!; // seq 5, a lease.created
    const text = edited(row, (e) => (e.details.purpose = "forged"));
    expect(text).not.toBe(row.entry);
    await withSql(tenantId, (sql) => sql.exec("UPDATE audit SET entry = ? WHERE seq = 5", text));
    expect(await verify(adminToken)).toMatchObject({ ok: false, seq: 5, reason: expect.stringMatching(/stored hash/) });
  });

  it("an edited entry with its stored hash recomputed: reported at the next seq, whose prev_hash no longer matches", async () => {
    const { tenantId, adminToken } = await smallChain();
    const row = (await auditRows(tenantId))[3]!; // seq 4
    const text = edited(row, (e) => (e.actor.identity = "agent:someone-else@test"));
    await withSql(tenantId, (sql) =>
      sql.exec(
        "UPDATE audit SET entry = ?, hash = ?, identity = ? WHERE seq = 4",
        text,
        entryHash(text),
        "agent:someone-else@test",
      ),
    );
    // The edited row alone is self-consistent; the chain breaks at the link to it.
    const result = await verify(adminToken);
    expect(result).toMatchObject({
      ok: false,
      seq: 5,
      reason: expect.stringMatching(/prev_hash does not match the hash of (seq|entry) 4\b/),
    });
    // Verifying just the edited seq cannot see it; the range ending one later does.
    expect(await verify(adminToken, "?from_seq=4&to_seq=4")).toMatchObject({ ok: true });
    expect(await verify(adminToken, "?from_seq=4&to_seq=5")).toMatchObject({ ok: false, seq: 5 });
  });

  it("a deleted row: reported at the missing seq", async () => {
    const { tenantId, adminToken } = await smallChain();
    await withSql(tenantId, (sql) => sql.exec("DELETE FROM audit WHERE seq = 3"));
    expect(await verify(adminToken)).toMatchObject({ ok: false, seq: 3, reason: expect.stringMatching(/missing/) });
  });

  it("the first row deleted: reported at seq 1", async () => {
    const { tenantId, adminToken } = await smallChain();
    await withSql(tenantId, (sql) => sql.exec("DELETE FROM audit WHERE seq = 1"));
    expect(await verify(adminToken)).toMatchObject({ ok: false, seq: 1 });
  });

  it("two rows swapped (entries, hashes and columns): reported at the first seq out of place", async () => {
    const { tenantId, adminToken } = await smallChain();
    await withSql(tenantId, (sql) => {
      sql.exec("UPDATE audit SET seq = -4 WHERE seq = 4");
      sql.exec("UPDATE audit SET seq = 4 WHERE seq = 5");
      sql.exec("UPDATE audit SET seq = 5 WHERE seq = -4");
    });
    const rows = await auditRows(tenantId);
    expect(JSON.parse(rows[3]!.entry).seq).toBe(5);
    expect(await verify(adminToken)).toMatchObject({ ok: false, seq: 4 });
  });

  it("two rows' entries swapped, hashes and seq column kept: reported at the first of them", async () => {
    const { tenantId, adminToken } = await smallChain();
    const rows = await auditRows(tenantId);
    await withSql(tenantId, (sql) => {
      sql.exec("UPDATE audit SET entry = ? WHERE seq = 5", rows[5]!.entry);
      sql.exec("UPDATE audit SET entry = ? WHERE seq = 6", rows[4]!.entry);
    });
    expect(await verify(adminToken)).toMatchObject({ ok: false, seq: 5 });
  });

  it("an extra row inserted in the middle (later rows shifted, forged entry correctly linked and hashed): reported at the first shifted seq", async () => {
    const { tenantId, adminToken, size } = await smallChain();
    const rows = await auditRows(tenantId);
    const prev = rows[3]!; // the forged entry goes after seq 4
    const forged = edited(rows[4]!, (e) => {
      e.seq = 5;
      e.prev_hash = prev.hash;
      e.details.lease_id = "lease_forged";
    });
    await withSql(tenantId, (sql) => {
      sql.exec("UPDATE audit SET seq = seq + 1000 WHERE seq >= 5");
      sql.exec("UPDATE audit SET seq = seq - 999 WHERE seq >= 1000");
      sql.exec(
        "INSERT INTO audit (seq, ts, type, identity, credential_id, entry, hash) VALUES (5, ?, ?, ?, ?, ?, ?)",
        rows[4]!.ts,
        rows[4]!.type,
        rows[4]!.identity,
        rows[4]!.credential_id,
        forged,
        entryHash(forged),
      );
    });
    expect(await scalar(tenantId, "SELECT count(*) AS n FROM audit")).toBe(size + 1);
    expect(await verify(adminToken)).toMatchObject({ ok: false, seq: 6 });
  });

  it("an extra row appended that repeats an earlier entry: reported at its seq", async () => {
    const { tenantId, adminToken, size } = await smallChain();
    const copy = (await auditRows(tenantId))[2]!;
    await withSql(tenantId, (sql) =>
      sql.exec(
        "INSERT INTO audit (seq, ts, type, identity, credential_id, entry, hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
        size + 1,
        copy.ts,
        copy.type,
        copy.identity,
        copy.credential_id,
        copy.entry,
        copy.hash,
      ),
    );
    expect(await verify(adminToken)).toMatchObject({ ok: false, seq: size + 1 });
  });

  it.each([
    ["type", "lease.revoked"],
    ["identity", "user:nobody@test"],
  ])("an indexed column (%s) edited alone: reported at that seq", async (column, value) => {
    const { tenantId, adminToken } = await smallChain();
    await withSql(tenantId, (sql) => sql.exec(`UPDATE audit SET ${column} = ? WHERE seq = 6`, value));
    expect(await verify(adminToken)).toMatchObject({
      ok: false,
      seq: 6,
      reason: expect.stringMatching(/indexed columns/),
    });
    // Queries by that column now disagree with the entries, which is why verify checks them.
    const page = await expectStatus<{ items: { seq: number }[] }>(
      await api(adminToken, "GET", `/v1/audit?${column}=${encodeURIComponent(value)}`),
      200,
    );
    expect(page.items.map((i) => i.seq)).toContain(6);
  });
});

/** A tenant with at least one signed checkpoint; returns it and the newest checkpoint row. */
async function checkpointed() {
  const chain = await smallChain(8); // 11 entries: the call that reaches 10 signs a checkpoint
  const cps = await withSql(chain.tenantId, (sql) =>
    sql
      .exec<{ size: number; ts: number; note: string }>("SELECT * FROM checkpoints ORDER BY size")
      .toArray()
      .map((r) => ({ ...r })),
  );
  expect(cps.length).toBeGreaterThan(0);
  const verified = await verify(chain.adminToken);
  expect(verified).toMatchObject({ ok: true, checkpoints: cps.length });
  return { ...chain, cp: cps[cps.length - 1]! };
}

describe("checkpoints catch what the chain alone cannot", () => {
  it("the tail deleted after a checkpoint covering it exists: truncation reported", async () => {
    const { tenantId, adminToken, cp } = await checkpointed();
    await withSql(tenantId, (sql) => sql.exec("DELETE FROM audit WHERE seq > ?", cp.size - 2));
    const result = await verify(adminToken);
    expect(result).toMatchObject({
      ok: false,
      seq: cp.size - 1,
      reason: expect.stringMatching(/covers \d+ entries but the log ends/),
    });
  });

  it("an entry rewritten with its hash and every later link recomputed: reported at the checkpointed seq", async () => {
    const { tenantId, adminToken, cp } = await checkpointed();
    const rows = await auditRows(tenantId);
    await withSql(tenantId, (sql) => {
      let prev = rows[cp.size - 3]!.hash; // rewrite from seq cp.size-1 to the end
      for (const row of rows.slice(cp.size - 2)) {
        const text = edited(row, (e) => {
          e.prev_hash = prev;
          if (e.seq === cp.size - 1) e.request_id = "forged";
        });
        prev = entryHash(text);
        sql.exec("UPDATE audit SET entry = ?, hash = ? WHERE seq = ?", text, prev, row.seq);
      }
    });
    expect(await verify(adminToken)).toMatchObject({
      ok: false,
      seq: cp.size,
      reason: expect.stringMatching(/signed checkpoint/),
    });
  });

  it("a checkpoint signed by another Ed25519 key under the same key name is rejected; the real one verifies", async () => {
    const { tenantId, adminToken, cp } = await checkpointed();
    // A Merkle checkpoint (origin <host>/audit/v2/<tenant>, key name <host>/audit/v2) since the cut-over.
    const root = await withSql(tenantId, (sql) => toHex(merkleRoot(sql, cp.size)));
    const origin = `vault.test/audit/v2/${tenantId}`;
    const impostor = await createSigner("11".repeat(32), "vault.test/audit/v2");
    const forged = await signCheckpoint(impostor, { origin, size: cp.size, hash: root });
    expect(forged.split("\n\n")[0]).toBe(cp.note.split("\n\n")[0]); // same body, only the signature differs
    await withSql(tenantId, (sql) => sql.exec("UPDATE checkpoints SET note = ? WHERE size = ?", forged, cp.size));
    expect(await verify(adminToken)).toMatchObject({
      ok: false,
      seq: cp.size,
      reason: expect.stringMatching(/no signature by a trusted key/),
    });
    // Positive control: the real note put back verifies again.
    await withSql(tenantId, (sql) => sql.exec("UPDATE checkpoints SET note = ? WHERE size = ?", cp.note, cp.size));
    expect(await verify(adminToken)).toMatchObject({ ok: true });
  });
});
