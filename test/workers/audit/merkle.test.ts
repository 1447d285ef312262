/**
 * worker/core/audit/merkle.ts against an independent implementation: merkle-vectors.json was produced
 * by merkle-vectors.gen.go with Go's golang.org/x/mod/sumdb/tlog (tree heads for sizes 1…300 and
 * a few large ones, inclusion and consistency proofs). Every proof is generated here and compared
 * byte for byte, then verified (RFC 9162) with a positive control and tampered copies beside it.
 */
import { createHash } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { fromBase64, sha256 as webSha256, toBase64 } from "../../../worker/core/audit/encoding";
import {
  CompactRange,
  consistencyProof,
  inclusionProof,
  leafHash,
  prefixSubtrees,
  storedHashCount,
  storedHashesForLeaf,
  treeHash,
  verifyConsistency,
  verifyInclusion,
  type MerkleHash,
} from "../../../worker/core/audit/merkle";
import vectors from "./merkle-vectors.json";
import { entryLeafHash, treeSha256 as objectSha256 } from "../../../durable-objects/audit/merkle-store";

const sha256 = (data: Uint8Array): MerkleHash => new Uint8Array(createHash("sha256").update(data).digest());
const b64 = (text: string) => fromBase64(text)!;
const leafData = (i: number) => new TextEncoder().encode(`${vectors.leaf_prefix}${i}`);
const maxSize = Math.max(...Object.keys(vectors.heads).map(Number));

/** Every stored hash of the largest tree, appended leaf by leaf as the Durable Object does. */
const stored: MerkleHash[] = [];
const read = (indexes: readonly number[]) =>
  indexes.map((i) => {
    const h = stored[i];
    if (h === undefined) throw new Error(`hash ${i} not stored`);
    return h;
  });

beforeAll(() => {
  for (let n = 0; n < maxSize; n++) stored.push(...storedHashesForLeaf(sha256, n, leafHash(sha256, leafData(n)), read));
});

/** A copy of `proof` with one bit of hash `i` flipped. */
const flipped = (proof: MerkleHash[], i: number) =>
  proof.map((h, j) => (j === i ? h.map((b, k) => (k === 0 ? b ^ 1 : b)) : h));

describe("Merkle tree hashes and storage match Go's sumdb/tlog", () => {
  it("stores exactly tlog's hash count and computes every tree head", () => {
    expect(stored).toHaveLength(storedHashCount(maxSize));
    for (const [size, head] of Object.entries(vectors.heads)) {
      expect(toBase64(treeHash(sha256, Number(size), read)), `size ${size}`).toBe(head);
    }
    // The empty tree is SHA-256("") (RFC 9162 §2.1.1; tlog v0.7.0 answers zeros, so not in the file).
    expect(toBase64(treeHash(sha256, 0, read))).toBe("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
  });
});

describe("the object's tree hash (merkle-store treeSha256: plain JavaScript)", () => {
  it("builds the Go vectors' tree and every tree head, stored hash for stored hash", () => {
    const own: MerkleHash[] = [];
    const readOwn = (indexes: readonly number[]) => indexes.map((i) => own[i]!);
    for (let n = 0; n < maxSize; n++)
      own.push(...storedHashesForLeaf(objectSha256, n, leafHash(objectSha256, leafData(n)), readOwn));
    expect(own.map(toBase64)).toEqual(stored.map(toBase64));
    for (const [size, head] of Object.entries(vectors.heads))
      expect(toBase64(treeHash(objectSha256, Number(size), readOwn)), `size ${size}`).toBe(head);
    expect(toBase64(treeHash(objectSha256, 0, readOwn))).toBe("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
  });
});

describe("the object's leaf hash (merkle-store entryLeafHash)", () => {
  it("is leafHash over the UTF-8 of the entry text, for ASCII and non-ASCII text", () => {
    for (const text of [`${vectors.leaf_prefix}0`, "", '{"a":"\u00e9 é ☃ 𝄞"}']) {
      expect(toBase64(entryLeafHash(text)), text).toBe(toBase64(leafHash(sha256, new TextEncoder().encode(text))));
    }
    // And the Go vectors' tree comes out of it too.
    const leaves = Array.from({ length: 5 }, (_, i) => entryLeafHash(`${vectors.leaf_prefix}${i}`));
    expect(leaves.map(toBase64)).toEqual(Array.from({ length: 5 }, (_, i) => toBase64(leafHash(sha256, leafData(i)))));
  });
});

describe("compact ranges (what verifiers stream an export through)", () => {
  it("give every tree head of the Go vectors, from leaf 0 or seeded with the stored subtrees before any start", async () => {
    const sizes = Object.keys(vectors.heads)
      .map(Number)
      .filter((n) => n <= 1100)
      .sort((a, b) => a - b);
    const whole = new CompactRange(sha256);
    for (const size of sizes) {
      while (whole.size < size) await whole.append(leafHash(sha256, leafData(whole.size)));
      expect(toBase64(await whole.root()), `size ${size}`).toBe(
        vectors.heads[String(size) as keyof typeof vectors.heads],
      );
    }
    // A window from start: the subtrees before it come from the stored tree (prefixSubtrees).
    for (const start of [1, 5, 64, 299, 777]) {
      const window = new CompactRange(webSha256, start, prefixSubtrees(start, read));
      while (window.size < 1000) await window.append(leafHash(sha256, leafData(window.size)));
      expect(toBase64(await window.root()), `from ${start}`).toBe(vectors.heads["1000"]);
    }
    expect(toBase64(await new CompactRange(sha256).root())).toBe("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
  });

  it("refuse a start that does not match its size; a wrong start hash gives another root (denial beside the control)", async () => {
    expect(() => new CompactRange(sha256, 5, prefixSubtrees(4, read))).toThrow(/does not match/);
    const start = prefixSubtrees(300, read);
    const good = new CompactRange(sha256, 300, start);
    const bad = new CompactRange(sha256, 300, flipped(start, 1));
    for (const r of [good, bad]) while (r.size < 1000) await r.append(leafHash(sha256, leafData(r.size)));
    expect(toBase64(await good.root())).toBe(vectors.heads["1000"]);
    expect(toBase64(await bad.root())).not.toBe(vectors.heads["1000"]);
  });
});

describe("inclusion proofs", () => {
  it("are generated byte for byte as tlog.ProveRecord and verify; a flipped bit, another leaf or size fails", async () => {
    for (const v of vectors.inclusion) {
      const proof = inclusionProof(sha256, v.size, v.index, read);
      expect(proof.map(toBase64), `leaf ${v.index} of ${v.size}`).toEqual(v.proof);
      const root = b64(vectors.heads[String(v.size) as keyof typeof vectors.heads]);
      const leaf = leafHash(sha256, leafData(v.index));
      expect(await verifyInclusion(sha256, v.index, v.size, leaf, proof, root)).toBe(true);
      if (proof.length > 0)
        expect(await verifyInclusion(sha256, v.index, v.size, leaf, flipped(proof, proof.length - 1), root)).toBe(
          false,
        );
      if (v.size > 1)
        expect(await verifyInclusion(sha256, (v.index + 1) % v.size, v.size, leaf, proof, root)).toBe(false);
      // RFC 9162's final sn = 0 check: the same proof must not pass for a larger tree.
      expect(await verifyInclusion(sha256, v.index, v.size * 2 + 1, leaf, proof, root)).toBe(false);
    }
  });

  it("verify with WebCrypto's async SHA-256 too (the SDK's path); proofs too long or too short fail", async () => {
    const v = vectors.inclusion.find((x) => x.size === maxSize)!;
    const proof = v.proof.map(b64);
    const root = b64(vectors.heads[String(v.size) as keyof typeof vectors.heads]);
    const leaf = await leafHash(webSha256, leafData(v.index));
    expect(await verifyInclusion(webSha256, v.index, v.size, leaf, proof, root)).toBe(true);
    expect(await verifyInclusion(webSha256, v.index, v.size, leaf, [...proof, proof[0]!], root)).toBe(false);
    expect(await verifyInclusion(webSha256, v.index, v.size, leaf, proof.slice(1), root)).toBe(false);
    expect(await verifyInclusion(webSha256, v.size, v.size, leaf, proof, root)).toBe(false);
    expect(() => inclusionProof(sha256, 5, 5, read)).toThrow(/outside/);
  });
});

describe("consistency proofs", () => {
  it("are generated byte for byte as tlog.ProveTree and verify; a flipped bit or wrong root fails", async () => {
    const head = (n: number) => b64(vectors.heads[String(n) as keyof typeof vectors.heads]);
    for (const v of vectors.consistency) {
      const proof = consistencyProof(sha256, v.new, v.old, read);
      expect(proof.map(toBase64), `${v.old} -> ${v.new}`).toEqual(v.proof);
      expect(await verifyConsistency(sha256, v.old, v.new, head(v.old), head(v.new), proof)).toBe(true);
      if (proof.length > 0)
        expect(await verifyConsistency(sha256, v.old, v.new, head(v.old), head(v.new), flipped(proof, 0))).toBe(false);
      if (v.old !== v.new) {
        expect(await verifyConsistency(sha256, v.old, v.new, head(v.new), head(v.new), proof)).toBe(false);
        expect(await verifyConsistency(sha256, v.old, v.new, head(v.old), head(v.old), proof)).toBe(false);
        expect(await verifyConsistency(sha256, v.old, v.new, head(v.old), head(v.new), [])).toBe(false);
      }
    }
  });

  it("the empty tree is consistent with every tree without a proof; a smaller new size never is", async () => {
    const empty = treeHash(sha256, 0, read);
    const root = treeHash(sha256, 7, read);
    expect(await verifyConsistency(sha256, 0, 7, empty, root, [])).toBe(true);
    expect(await verifyConsistency(sha256, 0, 7, empty, root, [root])).toBe(false);
    expect(consistencyProof(sha256, 7, 0, read)).toEqual([]);
    expect(await verifyConsistency(sha256, 7, 3, root, treeHash(sha256, 3, read), [])).toBe(false);
    expect(() => consistencyProof(sha256, 3, 7, read)).toThrow(/outside/);
  });
});
