/**
 * Client-side checks of the audit log's RFC 6962 proofs (`GET /v1/audit/proof/*`), with the
 * RFC 9162 verification algorithms of worker/core/audit/merkle.ts over WebCrypto: any runtime.
 * A proof only ties an entry or an older tree to the root it names; `verifyProofCheckpoint` ties
 * that root to the vault's signed Merkle checkpoint served with it (or compare it with one you kept).
 */

import { parseCheckpoint } from "../worker/core/audit/checkpoint";
import { fromBase64, sha256, toHex } from "../worker/core/audit/encoding";
import { auditLogVerifiers, openAuditCheckpoint } from "../worker/core/audit/log-checkpoint";
import { parseSignedNote } from "../worker/core/audit/signed-note";
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

/** What {@link verifyProofCheckpoint} found. */
export type ProofCheckpointResult = { ok: true; size: number } | { ok: false; reason: string };

/**
 * Ties a proof's root to the vault's signature: the proof answer's `checkpoint` must be a Merkle
 * checkpoint signed by `key` (either verifier key string of the audit key), for `tenant`'s log
 * (any tenant of that key if omitted), of the proof's (new) tree size, and carry the proof's
 * (new) root. Check the proof itself with `verifyInclusionProof` / `verifyConsistencyProof`.
 */
export async function verifyProofCheckpoint(
  proof: InclusionProof | ConsistencyProof,
  key: string,
  tenant?: string,
): Promise<ProofCheckpointResult> {
  const [size, root] = "seq" in proof ? [proof.size, proof.root] : [proof.new, proof.new_root];
  if (proof.checkpoint === undefined || proof.checkpoint === null)
    return {
      ok: false,
      reason: `the vault has no signed checkpoint of size ${size} stored (ask for the size of one it has)`,
    };
  const verifiers = await auditLogVerifiers(key);
  if (verifiers === null) return { ok: false, reason: "the verifier key is not a valid Ed25519 signed-note key" };
  const origin = parseSignedNote(proof.checkpoint);
  const body = origin.ok ? parseCheckpoint(origin.note.text) : origin;
  if (!body.ok) return body;
  const owner = tenant ?? body.checkpoint.origin.slice(verifiers.merkle.name.length + 1);
  const opened = await openAuditCheckpoint(proof.checkpoint, verifiers, owner);
  if (!opened.ok) return opened;
  if (opened.format !== "merkle")
    return { ok: false, reason: "the checkpoint is a hash-chain checkpoint: it signs no Merkle root" };
  if (opened.checkpoint.size !== size)
    return { ok: false, reason: `the checkpoint is of size ${opened.checkpoint.size}, the proof of size ${size}` };
  const rootBytes = fromBase64(root);
  if (rootBytes === null || toHex(rootBytes) !== opened.checkpoint.hash)
    return { ok: false, reason: "the proof's root is not the root the checkpoint signs" };
  return { ok: true, size };
}
