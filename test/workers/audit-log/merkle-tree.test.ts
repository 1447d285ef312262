import { env, runDurableObjectAlarm } from "cloudflare:test";
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { merkleRoot, merkleSize } from "../../../durable-objects/audit/merkle-store";
import { storedHashCount } from "../../../worker/core/audit/merkle";
import { toHex } from "../../../worker/core/audit/encoding";
import { vaultStub } from "../../../worker/routes/define";
import { api, expectStatus } from "../helpers";
import { appendDirect, auditRows, smallChain, withSql } from "./helpers";

/**
 * The Durable Object keeps an RFC 6962 Merkle tree over its audit entries (issue 10 §2): written
 * by each append in its transaction, and built once by the alarm for a log that predates it.
 * The root is checked against a naive recursive MTH (RFC 6962 §2.1) over the stored entry bytes.
 */

const sha = (...parts: (Uint8Array | number[])[]) => {
  const h = createHash("sha256");
  for (const p of parts) h.update(Uint8Array.from(p));
  return new Uint8Array(h.digest());
};

/** RFC 6962 §2.1 MTH, straight from the definition. */
function naiveRoot(leaves: Uint8Array[]): string {
  const mth = (d: Uint8Array[]): Uint8Array => {
    if (d.length === 0) return sha([]);
    if (d.length === 1) return sha([0], d[0]!);
    let k = 1;
    while (k * 2 < d.length) k *= 2;
    return sha([1], mth(d.slice(0, k)), mth(d.slice(k)));
  };
  return toHex(mth(leaves));
}

async function entryLeaves(tenantId: string): Promise<Uint8Array[]> {
  return (await auditRows(tenantId)).map((r) => new TextEncoder().encode(r.entry));
}

const treeState = (tenantId: string) =>
  withSql(tenantId, (sql) => {
    const size = merkleSize(sql);
    return {
      size,
      root: toHex(merkleRoot(sql, size)),
      rows: sql.exec<{ n: number }>("SELECT count(*) AS n FROM audit_hashes").one().n,
    };
  });

describe("the audit Merkle tree in the Durable Object", () => {
  it("every append adds its leaf in the same transaction: root equals the RFC 6962 hash of the entries", async () => {
    const { tenantId, size } = await smallChain();
    const leaves = await entryLeaves(tenantId);
    expect(leaves).toHaveLength(size);
    expect(await treeState(tenantId)).toEqual({ size, root: naiveRoot(leaves), rows: storedHashCount(size) });
    // Every prefix too: the tree at each size is the tree of the first entries.
    for (const n of [1, 2, 3, size - 1]) {
      expect(await withSql(tenantId, (sql) => toHex(merkleRoot(sql, n)))).toBe(naiveRoot(leaves.slice(0, n)));
    }
    // Denial beside it: one entry's bytes changed gives another root.
    const changed = [...leaves];
    changed[2] = new TextEncoder().encode("forged");
    expect(naiveRoot(changed)).not.toBe(naiveRoot(leaves));
  });

  it("a log older than the tree is left alone by appends and built by the alarm, then kept by appends", async () => {
    const { tenantId, adminToken, user } = await smallChain();
    // In one synchronous step (so no alarm runs between): the tree emptied as before the
    // migration, then an append, which must not start a tree that lacks the earlier leaves.
    const left = await withSql(tenantId, (sql, storage) => {
      sql.exec("DELETE FROM audit_hashes");
      appendDirect(sql, storage, tenantId, { type: "test.appended", details: {} });
      return sql.exec<{ n: number }>("SELECT count(*) AS n FROM audit_hashes").one().n;
    });
    expect(left).toBe(0);
    await runDurableObjectAlarm(vaultStub(env, tenantId));
    const built = await entryLeaves(tenantId);
    expect(await treeState(tenantId)).toEqual({
      size: built.length,
      root: naiveRoot(built),
      rows: storedHashCount(built.length),
    });
    // Positive control that appends resume once the tree has caught up.
    await expectStatus(await api(adminToken, "GET", "/v1/audit/checkpoints?fresh=true"), 200);
    await expectStatus(await api(user, "POST", "/v1/leases", { credential: "db", purpose: "after the build" }), 201);
    const after = await entryLeaves(tenantId);
    expect(await treeState(tenantId)).toEqual({
      size: after.length,
      root: naiveRoot(after),
      rows: storedHashCount(after.length),
    });
  });
});
