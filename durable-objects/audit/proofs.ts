import { toBase64 } from "../../worker/core/audit/encoding";
import { consistencyProof, inclusionProof, leafHash } from "../../worker/core/audit/merkle";
import { VaultError } from "../../worker/contract/errors";
import type {
  ConsistencyProof,
  ConsistencyProofQuery,
  InclusionProof,
  InclusionProofQuery,
} from "../../worker/contract/schemas/audit";
import type { VaultContext } from "../vault-context";
import { checkpointsBetween } from "./checkpoints";
import { hashReader, merkleRoot, merkleSize, treeSha256 } from "./merkle-store";

/**
 * GET /v1/audit/proof/*: RFC 6962 proofs over the tenant's audit Merkle tree (merkle-store.ts),
 * read from the stored subtree hashes with one query each: O(log n), no recomputation. Each
 * answer carries the signed Merkle checkpoint of its tree size when one is stored, so the client
 * can tie the proof's root to the key (sdk/audit-proof.ts `verifyProofCheckpoint`).
 */

/** The stored Merkle checkpoint note of `size` entries, or null (none, or a hash-chain one). */
function merkleNoteAt(ctx: VaultContext, size: number): string | null {
  const note = checkpointsBetween(ctx.sql, size, size)[0]?.note;
  return note !== undefined && note.startsWith(`${ctx.config.AUDIT_HOST}/audit/v2/`) ? note : null;
}

/** The tree size a proof may name: at most the entries in the tree; a log still being built says so. */
function treeSizeFor(ctx: VaultContext, wanted: number | undefined): number {
  const built = merkleSize(ctx.sql);
  const head = ctx.sql.exec<{ n: number | null }>("SELECT max(seq) AS n FROM audit").one().n ?? 0;
  if (built < head && (wanted === undefined || wanted > built)) {
    throw new VaultError(
      "unavailable",
      `the audit Merkle tree is still being built (${built} of ${head} entries); try again shortly`,
    );
  }
  const size = wanted ?? built;
  if (size > built)
    throw new VaultError("validation_failed", `size ${size} is beyond the log, which has ${built} entries`);
  return size;
}

/** Inclusion proof of entry `seq` in the tree of `size` entries (default: all). */
export function proveInclusion(ctx: VaultContext, q: InclusionProofQuery): InclusionProof {
  const size = treeSizeFor(ctx, q.size);
  if (q.seq > size) throw new VaultError("validation_failed", `seq ${q.seq} is not in a tree of ${size} entries`);
  const entry = ctx.sql.exec<{ entry: string }>("SELECT entry FROM audit WHERE seq = ?", q.seq).one().entry;
  const proof = inclusionProof(treeSha256, size, q.seq - 1, hashReader(ctx.sql));
  return {
    seq: q.seq,
    size,
    leaf_hash: toBase64(leafHash(treeSha256, new TextEncoder().encode(entry))),
    root: toBase64(merkleRoot(ctx.sql, size)),
    proof: proof.map(toBase64),
    checkpoint: merkleNoteAt(ctx, size),
  };
}

/** Consistency proof from the tree of `old` entries to the tree of `new` (default: all). */
export function proveConsistency(ctx: VaultContext, q: ConsistencyProofQuery): ConsistencyProof {
  const size = treeSizeFor(ctx, q.new);
  if (q.old > size) throw new VaultError("validation_failed", `old size ${q.old} is larger than new size ${size}`);
  return {
    old: q.old,
    new: size,
    old_root: toBase64(merkleRoot(ctx.sql, q.old)),
    new_root: toBase64(merkleRoot(ctx.sql, size)),
    proof: consistencyProof(treeSha256, size, q.old, hashReader(ctx.sql)).map(toBase64),
    checkpoint: merkleNoteAt(ctx, size),
  };
}
