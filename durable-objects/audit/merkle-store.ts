import { sha256PartsSync } from "../../worker/core/crypto/sha256-sync";
import { treeSha256Js } from "../../worker/core/crypto/sha256-js";
import {
  storedHashCount,
  storedHashesForLeaf,
  storedHashIndex,
  treeHash,
  type HashReader,
  LEAF_PREFIX,
  type MerkleHash,
  type Sha256,
} from "../../worker/core/audit/merkle";

/**
 * The tenant's RFC 6962 Merkle tree over its audit entries, kept in the `audit_hashes` table
 * (durable-objects/STORAGE.md): leaf i (0-based) is entry seq i + 1, its data the entry's
 * canonical bytes, so its leaf hash is a v2 entry's own hash (codec.ts `entryHashInput`). Only
 * complete-subtree hashes are stored, at tlog's indexes (worker/core/audit/merkle.ts), so an append
 * writes 1 + (trailing ones of i) rows and reads as many: O(log n), with a synchronous SHA-256
 * inside the append transaction. Tenants whose log predates the tree are built once by the alarm
 * in bounded batches ({@link backfillMerkle}); until then appends leave the tree alone.
 */

/**
 * The tree's own synchronous SHA-256, usable inside `transactionSync`: its inputs are 65-byte
 * interior nodes (and the empty tree), which plain JavaScript hashes several times faster than
 * node:crypto's per-call cost in workerd, nodes without building their input
 * (worker/core/crypto/sha256-js.ts).
 */
export const treeSha256: Sha256<MerkleHash> = treeSha256Js;

/** Tenants whose appends skip the tree: set only by the TEST_HOOKS-gated bench hook (test-hooks.ts). */
export const MERKLE_BENCH_SKIP = new Set<string>();

/** Leaves the alarm adds per run while building an existing tenant's tree. */
export const MERKLE_BACKFILL_BATCH = 2000;

/** A stored hash the tree should have is not there (a tree not built that far, or rows removed). */
class MissingHashError extends Error {
  override readonly name = "MissingHashError";
}

/** Reads stored hashes by index with one query; throws if one is missing (a tree not built that far). */
export function hashReader(sql: SqlStorage): HashReader {
  return (indexes) => {
    const found = new Map<number, MerkleHash>();
    for (const row of sql.exec<{ idx: number; h: ArrayBuffer }>(
      `SELECT idx, h FROM audit_hashes WHERE idx IN (${indexes.map(() => "?").join(",")})`,
      ...indexes,
    )) {
      found.set(row.idx, new Uint8Array(row.h));
    }
    return indexes.map((i) => {
      const h = found.get(i);
      if (h === undefined) throw new MissingHashError(`audit Merkle tree: stored hash ${i} is missing`);
      return h;
    });
  };
}

function hasHash(sql: SqlStorage, idx: number): boolean {
  return sql.exec("SELECT 1 FROM audit_hashes WHERE idx = ?", idx).toArray().length > 0;
}

/**
 * RFC 6962 leaf hash of an entry's canonical text (or its UTF-8 bytes), SHA-256(0x00 ‖ UTF-8(text)):
 * merkle.ts's `leafHash` without encoding and concatenating the text first, for building the tree
 * from stored entries (the backfill; appends and verify have the hash already, as a v2 entry's
 * hash is its leaf). test/workers/audit/merkle.test.ts checks the two agree.
 */
export function entryLeafHash(entry: string | Uint8Array): MerkleHash {
  return sha256PartsSync(LEAF_PREFIX, entry);
}

/** Up to 1 + log2(n) hashes per leaf: one statement for all of them (tlog indexes are consecutive). */
const INSERT_HASHES = Array.from(
  { length: 54 },
  (_, k) =>
    `INSERT INTO audit_hashes (idx, h) VALUES ${Array(k + 1)
      .fill("(?, ?)")
      .join(", ")}`,
);

function addLeaf(sql: SqlStorage, index: number, leaf: MerkleHash): void {
  const hashes = storedHashesForLeaf(treeSha256, index, leaf, hashReader(sql));
  const first = storedHashIndex(0, index);
  sql.exec(INSERT_HASHES[hashes.length - 1]!, ...hashes.flatMap((h, i) => [first + i, h]));
}

/**
 * Adds entry `seq`, by its RFC 6962 leaf hash, to the tree in the caller's transaction (the
 * append's, which has the leaf hash in hand: a v2 entry's hash). Does nothing while an
 * older log is still being built by {@link backfillMerkle}, which will reach this entry itself.
 * Whether the tree reaches the previous entry is one lookup, except for an odd leaf index: there
 * the previous leaf is this leaf's sibling, which adding the leaf reads anyway (issue 16: one
 * statement less on every other append).
 */
export function appendMerkleLeaf(sql: SqlStorage, seq: number, leaf: MerkleHash): void {
  const index = seq - 1;
  if (index === 0) return addLeaf(sql, index, leaf);
  const previous = storedHashIndex(0, index - 1);
  if (index % 2 === 1) {
    try {
      return addLeaf(sql, index, leaf);
    } catch (error) {
      // The previous leaf missing means "not built that far"; any other hole fails the append.
      if (error instanceof MissingHashError && !hasHash(sql, previous)) return;
      throw error;
    }
  }
  if (!hasHash(sql, previous)) return;
  addLeaf(sql, index, leaf);
}

/** Number of leaves in the stored tree, from its highest stored index (binary search over tlog's count). */
export function merkleSize(sql: SqlStorage): number {
  const max = sql.exec<{ m: number | null }>("SELECT max(idx) AS m FROM audit_hashes").one().m;
  if (max === null) return 0;
  let lo = 0;
  let hi = max + 1; // storedHashCount(n) ≥ n, so the size is at most the count
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (storedHashCount(mid) <= max + 1) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** RFC 6962 root of the first `size` entries, from the stored hashes. */
export function merkleRoot(sql: SqlStorage, size: number): MerkleHash {
  return treeHash(treeSha256, size, hashReader(sql));
}

/**
 * One bounded step of building the tree of a log that predates it: adds up to
 * {@link MERKLE_BACKFILL_BATCH} leaves in one transaction. Returns "more" while entries remain.
 */
export function backfillMerkle(storage: DurableObjectStorage): "more" | "done" {
  return storage.transactionSync(() => {
    const sql = storage.sql;
    const from = merkleSize(sql) + 1;
    const rows = sql
      .exec<{ seq: number; entry: string }>(
        "SELECT seq, entry FROM audit WHERE seq >= ? ORDER BY seq LIMIT ?",
        from,
        MERKLE_BACKFILL_BATCH,
      )
      .toArray();
    for (const [i, row] of rows.entries()) {
      if (row.seq !== from + i) throw new Error(`audit Merkle backfill: entry ${from + i} is missing`);
      // From the text, not the stored hash: the tree vouches for what the entries say.
      addLeaf(sql, row.seq - 1, entryLeafHash(row.entry));
    }
    return rows.length === MERKLE_BACKFILL_BATCH ? "more" : "done";
  });
}
