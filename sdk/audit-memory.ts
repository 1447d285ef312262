/**
 * Client memory of the audit log (issue 10 §4): the newest checkpoint a client has verified, per
 * log origin (`<host>/audit/<tenant>`). A later verification must agree with it: the entry at the
 * remembered size must still have the remembered hash, and an export to the head must not be
 * shorter. Otherwise the vault has shown two histories (a fork) or gone back (a rollback), which
 * only someone outside the vault can notice, so it is a loud, distinct error: {@link AuditForkError}.
 *
 * The remembered value is only ever written after a successful verification, and only forward.
 */

/** What is remembered of a verified checkpoint. */
export interface RememberedCheckpoint {
  readonly origin: string;
  readonly size: number;
  /** Lowercase hex hash of entry `size` (the checkpoint's root-hash line, hash-chain rule). */
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
