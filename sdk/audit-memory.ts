/**
 * Client memory of the audit log (issue 10 §4): the newest checkpoint a client has verified, per
 * log origin (`<host>/audit/<tenant>`). A later verification must agree with it: the entry at the
 * remembered size must still have the remembered hash, and an export to the head must not be
 * shorter. Otherwise the vault has shown two histories (a fork) or gone back (a rollback), which
 * only someone outside the vault can notice, so it is a loud, distinct error: {@link AuditForkError}.
 *
 * The remembered value is only ever written after a successful verification, and only forward.
 */

import { toHex } from "../worker/core/audit/encoding";
import type { CheckpointFormat } from "../worker/core/audit/log-checkpoint";
import type { CompactRange } from "../worker/core/audit/merkle";

/** What is remembered of a verified checkpoint. */
export interface RememberedCheckpoint {
  readonly origin: string;
  readonly size: number;
  /**
   * The checkpoint's root-hash line as lowercase hex: the RFC 6962 root of entries 1..size for a
   * Merkle origin (`<host>/audit/v2/<tenant>`), the hash of entry `size` for a hash-chain one.
   */
  readonly hash: string;
  /** The signed note, kept as evidence. */
  readonly note: string;
}

/** Where checkpoints are remembered: in memory by default, a file for the CLI (sdk/node.ts). */
export interface CheckpointMemory {
  get(origin: string): Promise<RememberedCheckpoint | undefined>;
  set(checkpoint: RememberedCheckpoint): Promise<void>;
}

/** A {@link CheckpointMemory} that lasts as long as the process. */
export class MemoryCheckpointMemory implements CheckpointMemory {
  readonly #byOrigin = new Map<string, RememberedCheckpoint>();

  /** The remembered checkpoint of `origin`, if any. */
  get(origin: string): Promise<RememberedCheckpoint | undefined> {
    return Promise.resolve(this.#byOrigin.get(origin));
  }

  /** Remembers `checkpoint` for its origin. */
  set(checkpoint: RememberedCheckpoint): Promise<void> {
    this.#byOrigin.set(checkpoint.origin, checkpoint);
    return Promise.resolve();
  }
}

/**
 * The audit log disagrees with a checkpoint this client verified earlier: a fork (another history
 * at the same size) or a rollback (the log is shorter than what was seen). Both the remembered
 * note and what was found are attached as evidence.
 */
export class AuditForkError extends Error {
  override readonly name = "AuditForkError";
  /** The checkpoint remembered from an earlier verification. */
  readonly remembered: RememberedCheckpoint;
  /** What the new data shows at that point: the hash found at the remembered size, or the shorter size. */
  readonly found: { readonly size: number; readonly hash: string | null };

  constructor(message: string, remembered: RememberedCheckpoint, found: { size: number; hash: string | null }) {
    super(message);
    this.remembered = remembered;
    this.found = found;
  }
}

/**
 * One verification's use of a {@link CheckpointMemory}: the remembered checkpoint of each format
 * (Merkle and, from before the cut-over, hash-chain), what the verified data shows at their sizes,
 * and the forward-only update. Used by `verifyAuditExport`.
 */
export class MemoryCheck {
  readonly #store: CheckpointMemory | undefined;
  readonly #remembered: Partial<Record<CheckpointFormat, RememberedCheckpoint>>;
  readonly #seen: Partial<Record<CheckpointFormat, string>> = {};

  private constructor(
    store: CheckpointMemory | undefined,
    remembered: Partial<Record<CheckpointFormat, RememberedCheckpoint>>,
  ) {
    this.#store = store;
    this.#remembered = remembered;
  }

  /** Reads what `store` remembers for the two origins of one tenant's log. */
  static async load(
    store: CheckpointMemory | undefined,
    origins: Record<CheckpointFormat, string>,
  ): Promise<MemoryCheck> {
    if (store === undefined) return new MemoryCheck(undefined, {});
    const [merkle, chain] = await Promise.all([store.get(origins.merkle), store.get(origins.chain)]);
    return new MemoryCheck(store, { ...(merkle && { merkle }), ...(chain && { chain }) });
  }

  /** Notes the verified hash of the remembered hash-chain size if this batch (from `start`) holds it. */
  seeChain(start: number, batch: readonly { hash: string }[]): void {
    const size = this.#remembered.chain?.size;
    if (size !== undefined && size >= start && size < start + batch.length)
      this.#seen.chain = batch[size - start]!.hash;
  }

  /** Notes the recomputed root when the tree reaches the remembered Merkle size. */
  async seeRoot(tree: CompactRange): Promise<void> {
    if (this.#remembered.merkle?.size === tree.size) this.#seen.merkle = toHex(await tree.root());
  }

  /**
   * Throws {@link AuditForkError} if signed data contradicts a remembered checkpoint (another hash
   * at its size), or if an export to the head is shorter than it (rollback). Only data the key
   * vouches for (up to `signedThrough`) can contradict memory: an unsigned tail proves nothing.
   */
  check(signedThrough: number, toSeq: number, toHead: boolean): void {
    for (const format of ["merkle", "chain"] as const) {
      const r = this.#remembered[format];
      if (r === undefined) continue;
      const seen = this.#seen[format];
      const what = format === "merkle" ? `the Merkle root of entries 1..${r.size}` : `entry ${r.size}`;
      if (seen !== undefined && r.size <= signedThrough && seen !== r.hash) {
        throw new AuditForkError(
          `audit log fork or rollback: ${what} has another hash than the one signed before (remembered checkpoint of size ${r.size})`,
          r,
          { size: r.size, hash: seen },
        );
      }
      if (toHead && r.size > toSeq) {
        throw new AuditForkError(
          `audit log fork or rollback: an export to the head ends at seq ${toSeq}, before the ${r.size} entries seen earlier (remembered checkpoint of size ${r.size})`,
          r,
          { size: toSeq, hash: null },
        );
      }
    }
  }

  /** Remembers the newest verified checkpoint of each format, only ever forward. */
  async update(newest: Partial<Record<CheckpointFormat, RememberedCheckpoint>>): Promise<void> {
    for (const format of ["merkle", "chain"] as const) {
      const n = newest[format];
      const r = this.#remembered[format];
      if (this.#store && n && (!r || n.size > r.size)) await this.#store.set(n);
    }
  }
}
