import { beforeAll, describe, expect, it } from "vitest";
import { verifyConsistencyProof, verifyInclusionProof } from "../../../sdk/audit-proof";
import { merkleRoot } from "../../../durable-objects/audit/merkle-store";
import { toBase64 } from "../../../worker/core/audit/encoding";
import type { ConsistencyProof, InclusionProof } from "../../../worker/contract/schemas/audit";
import { api, expectStatus, tokenWithRole } from "../helpers";
import { auditRows, smallChain, withSql, type AuditRow } from "./helpers";

/**
 * GET /v1/audit/proof/inclusion and /consistency (issue 10 §2): proofs from the Durable Object's
 * stored tree, checked by the SDK (RFC 9162) against the entries and roots; tampered proofs and
 * bad queries beside them.
 */

let chain: Awaited<ReturnType<typeof smallChain>>;
let rows: AuditRow[];

beforeAll(async () => {
  chain = await smallChain(10); // 13 entries: not a power of two, so every proof shape occurs
  rows = await auditRows(chain.tenantId);
});

const get = async <T>(path: string, token = chain.adminToken) => expectStatus<T>(await api(token, "GET", path), 200);
const flip = (b64: string) => toBase64(Uint8Array.from(atob(b64), (c, i) => c.charCodeAt(0) ^ (i === 0 ? 1 : 0)));

describe("inclusion proofs", () => {
  it("prove every entry in the whole tree and in a smaller one; the SDK accepts them and refuses edits", async () => {
    const size = rows.length;
    const root = await withSql(chain.tenantId, (sql) => toBase64(merkleRoot(sql, size)));
    for (const row of rows) {
      const p = await get<InclusionProof>(`/v1/audit/proof/inclusion?seq=${row.seq}`);
      expect(p).toMatchObject({ seq: row.seq, size, root });
      expect(await verifyInclusionProof(p, row.entry)).toBe(true);
      // Denials: another entry's bytes, a flipped proof hash, a claimed larger tree.
      expect(await verifyInclusionProof(p, rows[row.seq % size]!.entry)).toBe(false);
      if (p.proof.length > 0)
        expect(await verifyInclusionProof({ ...p, proof: [flip(p.proof[0]!), ...p.proof.slice(1)] }, row.entry)).toBe(
          false,
        );
      // A proof fits only trees of its depth (RFC 9162's final sn = 0 check); within a depth the
      // signed checkpoint, which carries size and root together, is what binds the size.
      expect(await verifyInclusionProof({ ...p, size: size * 2 }, row.entry)).toBe(false);
    }
    const small = await get<InclusionProof>("/v1/audit/proof/inclusion?seq=3&size=5");
    expect(small).toMatchObject({ seq: 3, size: 5 });
    expect(await verifyInclusionProof(small, rows[2]!.entry)).toBe(true);
  });
});

describe("consistency proofs", () => {
  it("prove each older tree is a prefix of the newest; a wrong old root fails", async () => {
    for (let old = 0; old <= rows.length; old++) {
      const p = await get<ConsistencyProof>(`/v1/audit/proof/consistency?old=${old}`);
      expect(p).toMatchObject({ old, new: rows.length });
      expect(await verifyConsistencyProof(p)).toBe(true);
      if (old > 0 && old < rows.length)
        expect(await verifyConsistencyProof({ ...p, old_root: flip(p.old_root) })).toBe(false);
    }
    const between = await get<ConsistencyProof>("/v1/audit/proof/consistency?old=3&new=7");
    expect(await verifyConsistencyProof(between)).toBe(true);
    expect(await verifyConsistencyProof({ ...between, new: 14 })).toBe(false);
  });
});

describe("bad queries and roles", () => {
  it("answer 400 naming the problem, and refuse a viewer; a manager gets the proof", async () => {
    for (const [path, field] of [
      ["/v1/audit/proof/inclusion?seq=0", "seq"],
      ["/v1/audit/proof/inclusion?seq=99", "seq 99"],
      ["/v1/audit/proof/inclusion?seq=2&size=99", "size 99"],
      ["/v1/audit/proof/consistency?old=9&new=4", "old size 9"],
      ["/v1/audit/proof/consistency?old=-1", "old"],
      ["/v1/audit/proof/consistency?old=1&extra=1", "extra"],
    ] as const) {
      const res = await api(chain.adminToken, "GET", path);
      expect(res.status, path).toBe(400);
      expect(await res.text(), path).toContain(field);
    }
    const viewer = await tokenWithRole(chain.adminToken, "viewer");
    expect((await api(viewer, "GET", "/v1/audit/proof/inclusion?seq=1")).status).toBe(403);
    const manager = await tokenWithRole(chain.adminToken, "manager");
    expect((await api(manager, "GET", "/v1/audit/proof/inclusion?seq=1")).status).toBe(200);
  });
});
