/**
 * Client-side checks of the audit log's RFC 6962 proofs (`GET /v1/audit/proof/*`), with the
 * RFC 9162 verification algorithms of worker/core/audit/merkle.ts over WebCrypto: any runtime.
 * A proof only ties an entry or an older tree to the root it names; compare that root with one
 * you trust (a checkpoint you verified and kept).
 */

import { fromBase64, sha256 } from "../worker/core/audit/encoding";
import { leafHash, verifyConsistency, verifyInclusion } from "../worker/core/audit/merkle";
import type { ConsistencyProof, InclusionProof } from "../worker/contract/schemas/audit";

const encoder = new TextEncoder();

function hashes(list: readonly string[]): Uint8Array[] | null {
  const out = list.map(fromBase64);
  return out.every((h) => h?.length === 32) ? (out as Uint8Array[]) : null;
}

/**
 * True if `proof` shows the entry at `proof.seq` in the tree of `proof.size` entries with root
 * `proof.root`. Pass the entry's canonical bytes (the `entry` text as stored and exported) to
 * check the leaf is that entry; without them only the path to the root is checked.
 */
export async function verifyInclusionProof(proof: InclusionProof, entry?: Uint8Array | string): Promise<boolean> {
  const [leaf, root] = [fromBase64(proof.leaf_hash), fromBase64(proof.root)];
  const path = hashes(proof.proof);
  if (leaf?.length !== 32 || root?.length !== 32 || path === null) return false;
  if (entry !== undefined) {
    const expected = await leafHash(sha256, typeof entry === "string" ? encoder.encode(entry) : entry);
    if (!expected.every((b, i) => b === leaf[i])) return false;
  }
  return verifyInclusion(sha256, proof.seq - 1, proof.size, leaf, path, root);
}

/** True if `proof` shows the tree of `proof.old` entries (root `old_root`) is a prefix of the tree of `proof.new` (root `new_root`). */
export async function verifyConsistencyProof(proof: ConsistencyProof): Promise<boolean> {
  const [oldRoot, newRoot] = [fromBase64(proof.old_root), fromBase64(proof.new_root)];
  const path = hashes(proof.proof);
  if (oldRoot?.length !== 32 || newRoot?.length !== 32 || path === null) return false;
  return verifyConsistency(sha256, proof.old, proof.new, oldRoot, newRoot, path);
}
