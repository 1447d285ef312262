/**
 * RFC 6962 Merkle trees for the audit log (DESIGN.md "Audit log", v2; RFC 9162 §2.1): leaf hash
 * = SHA-256(0x00 ‖ entry bytes), node = SHA-256(0x01 ‖ left ‖ right), empty tree = SHA-256("").
 *
 * Storage layout and proof generation follow Go's golang.org/x/mod/sumdb/tlog, so the same
 * stored-hash indexes and proofs come out (test/workers/audit/merkle-vectors.json was generated
 * with it): only hashes of complete subtrees are stored, at `storedHashIndex(level, n)`; appending
 * leaf n writes 1 + (trailing one bits of n) hashes, under 2 on average, and reads as many.
 * Proof verification is RFC 9162 §2.1.3.2 and §2.1.4.2, including the final `sn = 0` checks.
 *
 * Generation is synchronous over a synchronous SHA-256 (the Durable Object and the SDK use the
 * plain-JavaScript one, worker/core/crypto/sha256-js.ts: inside the object's transaction, and with
 * no await per node); verification also accepts an async one, such as WebCrypto's.
 * Sizes and indexes are Numbers below 2^53; no 32-bit bit operators are used on them.
 */

import { concatBytes } from "../crypto/encoding";

/** A 32-byte SHA-256 hash. */
export type MerkleHash = Uint8Array;

/**
 * SHA-256 of the bytes, synchronously or not. `node`, when present, is the same hash of an
 * interior node's input, 0x01 ‖ left ‖ right, computed without building those 65 bytes
 * (worker/core/crypto/sha256-js.ts `treeSha256Js`): the tree hashes about one node per leaf.
 */
export type Sha256<R extends MerkleHash | Promise<MerkleHash>> = ((data: Uint8Array) => R) & {
  readonly node?: (left: MerkleHash, right: MerkleHash) => R;
};

/** Reads stored hashes by index, in the order asked; throws if one is missing. */
export type HashReader = (indexes: readonly number[]) => MerkleHash[];

/** RFC 6962's leaf prefix: a leaf hash is SHA-256(0x00 ‖ data), an interior node's SHA-256(0x01 ‖ …). */
export const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE = Uint8Array.of(0x01);

/** What an RFC 6962 leaf hash is taken over: 0x00 ‖ data. */
export function leafInput(data: Uint8Array): Uint8Array {
  return concatBytes(LEAF_PREFIX, data);
}

/** RFC 6962 leaf hash: SHA-256(0x00 ‖ data). */
export function leafHash<R extends MerkleHash | Promise<MerkleHash>>(sha256: Sha256<R>, data: Uint8Array): R {
  return sha256(leafInput(data));
}

/** RFC 6962 interior node hash: SHA-256(0x01 ‖ left ‖ right). */
export function nodeHash<R extends MerkleHash | Promise<MerkleHash>>(
  sha256: Sha256<R>,
  left: MerkleHash,
  right: MerkleHash,
): R {
  return sha256.node ? sha256.node(left, right) : sha256(concatBytes(NODE, left, right));
}

const half = (n: number) => Math.floor(n / 2);
const isOdd = (n: number) => n % 2 === 1;

/** k = the largest power of two below n (n ≥ 2), and its log2 (tlog's maxpow2). */
function maxPow2(n: number): { k: number; level: number } {
  let level = 0;
  while (2 ** (level + 1) < n) level++;
  return { k: 2 ** level, level };
}

/**
 * Index of the stored hash of the complete subtree at `level` covering leaves
 * [n·2^level, (n+1)·2^level) (tlog.StoredHashIndex).
 */
export function storedHashIndex(level: number, n: number): number {
  for (let l = level; l > 0; l--) n = 2 * n + 1;
  let i = 0;
  for (; n > 0; n = half(n)) i += n;
  return i + level;
}

/** How many hashes are stored for a tree of `size` leaves (tlog.StoredHashCount). */
export function storedHashCount(size: number): number {
  if (size === 0) return 0;
  let count = storedHashIndex(0, size - 1) + 1;
  for (let i = size - 1; isOdd(i); i = half(i)) count++;
  return count;
}

/**
 * The hashes to store when leaf `n` (0-based) with leaf hash `leaf` is appended, to be written at
 * indexes `storedHashIndex(0, n)` onward (tlog.StoredHashesForRecordHash): the leaf, then one new
 * complete subtree per trailing one bit of n. Reads only the left siblings it combines with.
 */
export function storedHashesForLeaf(
  sha256: Sha256<MerkleHash>,
  n: number,
  leaf: MerkleHash,
  read: HashReader,
): MerkleHash[] {
  const hashes = [leaf];
  let m = 0;
  while (isOdd(Math.floor(n / 2 ** m))) m++;
  const indexes: number[] = [];
  for (let i = 0; i < m; i++) indexes[m - 1 - i] = storedHashIndex(i, Math.floor(n / 2 ** i) - 1);
  const old = m === 0 ? [] : read(indexes);
  let h = leaf;
  for (let i = 0; i < m; i++) {
    h = nodeHash(sha256, old[m - 1 - i]!, h);
    hashes.push(h);
  }
  return hashes;
}

/** Stored-hash indexes of the complete subtrees that make up leaves [lo, hi), left to right. */
function subtreeIndexes(lo: number, hi: number, need: number[]): void {
  while (lo < hi) {
    const { k, level } = maxPow2(hi - lo + 1);
    if (lo % k !== 0) throw new Error(`merkle: bad subtree [${lo}, ${hi})`);
    need.push(storedHashIndex(level, lo / k));
    lo += k;
  }
}

/** Hash of leaves [lo, hi) from the stored hashes `subtreeIndexes` named, consumed from `hashes`. */
function subtreeHash(sha256: Sha256<MerkleHash>, lo: number, hi: number, hashes: MerkleHash[]): MerkleHash {
  let count = 0;
  for (let at = lo; at < hi; count++) at += maxPow2(hi - at + 1).k;
  const parts = hashes.splice(0, count);
  let h = parts[count - 1]!;
  for (let i = count - 2; i >= 0; i--) h = nodeHash(sha256, parts[i]!, h);
  return h;
}

/** RFC 6962 Merkle tree hash of the first `size` leaves; SHA-256("") when size is 0. */
export function treeHash(sha256: Sha256<MerkleHash>, size: number, read: HashReader): MerkleHash {
  if (size === 0) return sha256(new Uint8Array(0));
  const need: number[] = [];
  subtreeIndexes(0, size, need);
  return subtreeHash(sha256, 0, size, read(need));
}

/**
 * The leaf ranges whose subtree hashes form a proof, in proof order (RFC 6962 §2.1.1 PATH and
 * §2.1.2 SUBPROOF, as tlog's leafProof and treeProof walk them): at each split, the subtree on
 * the other side of `n` is one proof element, added after the elements from below.
 */
function proofRanges(lo: number, hi: number, n: number, kind: "inclusion" | "consistency"): [number, number][] {
  if (kind === "inclusion" ? lo + 1 === hi : n === hi) return kind === "consistency" && lo !== 0 ? [[lo, hi]] : [];
  const { k } = maxPow2(hi - lo);
  const inLeft = kind === "inclusion" ? n < lo + k : n <= lo + k;
  return inLeft
    ? [...proofRanges(lo, lo + k, n, kind), [lo + k, hi]]
    : [...proofRanges(lo + k, hi, n, kind), [lo, lo + k]];
}

/** The proof hashes for `ranges`, read in one call. */
function proofHashes(sha256: Sha256<MerkleHash>, ranges: [number, number][], read: HashReader): MerkleHash[] {
  const need: number[] = [];
  for (const [lo, hi] of ranges) subtreeIndexes(lo, hi, need);
  const hashes = need.length === 0 ? [] : read(need);
  return ranges.map(([lo, hi]) => subtreeHash(sha256, lo, hi, hashes));
}

/**
 * RFC 6962 §2.1.1 audit path of leaf `index` (0-based) in the tree of `size` leaves
 * (tlog.ProveRecord): the siblings from the leaf up.
 * @throws Error unless 0 ≤ index < size.
 */
export function inclusionProof(
  sha256: Sha256<MerkleHash>,
  size: number,
  index: number,
  read: HashReader,
): MerkleHash[] {
  if (!(Number.isSafeInteger(index) && index >= 0 && index < size)) throw new Error("merkle: index outside the tree");
  return proofHashes(sha256, proofRanges(0, size, index, "inclusion"), read);
}

/**
 * RFC 6962 §2.1.2 consistency proof from the tree of `oldSize` leaves to the tree of `newSize`
 * (tlog.ProveTree). Empty when the sizes are equal or oldSize is 0 (nothing to prove).
 * @throws Error unless 0 ≤ oldSize ≤ newSize.
 */
export function consistencyProof(
  sha256: Sha256<MerkleHash>,
  newSize: number,
  oldSize: number,
  read: HashReader,
): MerkleHash[] {
  if (!(Number.isSafeInteger(oldSize) && oldSize >= 0 && oldSize <= newSize))
    throw new Error("merkle: old size outside the tree");
  if (oldSize === 0 || oldSize === newSize) return [];
  return proofHashes(sha256, proofRanges(0, newSize, oldSize, "consistency"), read);
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * RFC 9162 §2.1.3.2: does `proof` show leaf hash `leaf` at `index` in the tree of `size` leaves
 * with root `root`? False on any malformed input (never throws for a bad proof).
 */
export async function verifyInclusion(
  sha256: Sha256<MerkleHash | Promise<MerkleHash>>,
  index: number,
  size: number,
  leaf: MerkleHash,
  proof: readonly MerkleHash[],
  root: MerkleHash,
): Promise<boolean> {
  if (!(Number.isSafeInteger(index) && Number.isSafeInteger(size) && index >= 0 && index < size)) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      r = await nodeHash(sha256, p, r);
      if (!isOdd(fn)) while (!isOdd(fn) && fn !== 0) (fn = half(fn)), (sn = half(sn));
    } else {
      r = await nodeHash(sha256, r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && equal(r, root);
}

/**
 * RFC 9162 §2.1.4.2: does `proof` show the tree of `oldSize` leaves with root `oldRoot` is a
 * prefix of the tree of `newSize` leaves with root `newRoot`? Equal sizes need an empty proof and
 * equal roots; oldSize 0 needs an empty proof (the empty tree is a prefix of every tree).
 */
export async function verifyConsistency(
  sha256: Sha256<MerkleHash | Promise<MerkleHash>>,
  oldSize: number,
  newSize: number,
  oldRoot: MerkleHash,
  newRoot: MerkleHash,
  proof: readonly MerkleHash[],
): Promise<boolean> {
  if (!(Number.isSafeInteger(oldSize) && Number.isSafeInteger(newSize) && oldSize >= 0 && oldSize <= newSize))
    return false;
  if (oldSize === newSize) return proof.length === 0 && equal(oldRoot, newRoot);
  if (oldSize === 0) return proof.length === 0;
  if (proof.length === 0) return false;
  const path = [...proof];
  // If the old size is a power of two, the old root is the proof's implicit first element.
  if (Number.isInteger(Math.log2(oldSize)) && 2 ** Math.log2(oldSize) === oldSize) path.unshift(oldRoot);
  let fn = oldSize - 1;
  let sn = newSize - 1;
  while (isOdd(fn)) (fn = half(fn)), (sn = half(sn));
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      fr = await nodeHash(sha256, c, fr);
      sr = await nodeHash(sha256, c, sr);
      if (!isOdd(fn)) while (!isOdd(fn) && fn !== 0) (fn = half(fn)), (sn = half(sn));
    } else {
      sr = await nodeHash(sha256, sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && equal(fr, oldRoot) && equal(sr, newRoot);
}

/**
 * The complete subtrees covering leaves [0, size): one hash per one bit of `size`, largest
 * (leftmost) first, read from the stored tree. With {@link CompactRange} this lets a verifier
 * start at any leaf and still compute roots of the whole tree.
 */
export function prefixSubtrees(size: number, read: HashReader): MerkleHash[] {
  const need: number[] = [];
  subtreeIndexes(0, size, need);
  return need.length === 0 ? [] : read(need);
}

/**
 * A compact range over leaves [0, size) (transparency-dev/merkle's compact range): the hashes of
 * the complete subtrees for the one bits of `size`, largest first. Appending a leaf merges equal
 * subtrees (O(log n) hashing, amortised under 2 per leaf); the root folds them right to left,
 * which is RFC 6962's split at the largest power of two. Enough to recompute the root at every
 * checkpoint while streaming through an export, without storing the tree.
 */
export class CompactRange {
  readonly #sha256: Sha256<MerkleHash | Promise<MerkleHash>>;
  /** Subtree hashes and their leaf counts, largest first (two arrays: no object per leaf). */
  readonly #hashes: MerkleHash[] = [];
  readonly #sizes: number[] = [];
  #size = 0;

  /**
   * @param start the subtrees of leaves [0, startSize) as {@link prefixSubtrees} returns them
   *   (untrusted is fine: a wrong one only makes every later root wrong, never a root match).
   * @throws Error if `start` does not have one hash per one bit of `startSize`.
   */
  constructor(sha256: Sha256<MerkleHash | Promise<MerkleHash>>, startSize = 0, start: readonly MerkleHash[] = []) {
    this.#sha256 = sha256;
    let rest = startSize;
    const sizes: number[] = [];
    for (let bit = 2 ** Math.floor(Math.log2(Math.max(1, rest))); rest > 0; bit /= 2)
      if (rest >= bit) sizes.push(bit), (rest -= bit);
    if (sizes.length !== start.length || start.some((h) => h.length !== 32))
      throw new Error("merkle: the start of a compact range does not match its size");
    this.#sizes.push(...sizes);
    this.#hashes.push(...start);
    this.#size = startSize;
  }

  /** Leaves covered so far. */
  get size(): number {
    return this.#size;
  }

  /**
   * Appends one leaf hash. Over a synchronous SHA-256 it returns nothing and needs no await (the
   * Durable Object's verify loop appends one leaf per entry; a promise per leaf was a measurable
   * share of it, issue 16); over an async one it returns the promise to wait for.
   */
  append(leaf: MerkleHash): void | Promise<void> {
    return this.#merge(1, leaf);
  }

  #merge(size: number, hash: MerkleHash): void | Promise<void> {
    const sizes = this.#sizes;
    const hashes = this.#hashes;
    while (sizes.length > 0 && sizes[sizes.length - 1] === size) {
      sizes.pop();
      const merged = nodeHash(this.#sha256, hashes.pop()!, hash);
      size *= 2;
      if (merged instanceof Promise) return merged.then((h) => this.#merge(size, h));
      hash = merged;
    }
    sizes.push(size);
    hashes.push(hash);
    this.#size++;
  }

  /** RFC 6962 root of leaves [0, size); SHA-256("") when empty. */
  async root(): Promise<MerkleHash> {
    const hashes = this.#hashes;
    if (hashes.length === 0) return this.#sha256(new Uint8Array(0));
    let h = hashes[hashes.length - 1]!;
    for (let i = hashes.length - 2; i >= 0; i--) {
      const merged = nodeHash(this.#sha256, hashes[i]!, h);
      h = merged instanceof Promise ? await merged : merged;
    }
    return h;
  }
}
