import { DurableObject } from "cloudflare:workers";
import { z } from "zod";
import { cosign } from "../../worker/core/audit/cosignature";
import { bytesEqual, fromBase64, fromHex, sha256 } from "../../worker/core/audit/encoding";
import { verifyConsistency } from "../../worker/core/audit/merkle";
import { loadWitnessConfig, type WitnessEnv } from "./config";

/**
 * The witness's memory of one log origin (one object per origin, `idFromName(origin)`): the
 * largest checkpoint it has cosigned. It cosigns a new checkpoint only if it extends that one by a
 * valid RFC 6962 consistency proof (C2SP tlog-witness), so two different histories of the same
 * log can never both carry its cosignature. The check and the update are atomic, and the new state
 * is stored before the cosignature is returned.
 *
 * Table `witnessed` (one row, id 1): size, root (32 bytes), note (the last cosigned checkpoint as
 * submitted), ts (ms). No row means size 0.
 */
export class WitnessLog extends DurableObject<WitnessEnv> {
  readonly #sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: WitnessEnv) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
  }

  /**
   * Checks a checkpoint whose log signature the front Worker has already verified against the
   * proof from `oldSize`, then records and cosigns it. The caller passes the note text (body).
   */
  async addCheckpoint(input: AddInput): Promise<AddOutcome> {
    const args = AddInput.safeParse(input);
    if (!args.success) return { status: 400, reason: "malformed witness request" };
    const { oldSize, size, body, note } = args.data;
    // Created on the first submission, not in the constructor: a GET /checkpoint for a made-up
    // origin under a trusted prefix then leaves no storage behind.
    this.#sql.exec(
      "CREATE TABLE IF NOT EXISTS witnessed (id INTEGER PRIMARY KEY CHECK (id = 1), size INTEGER NOT NULL, root BLOB NOT NULL, note TEXT NOT NULL, ts INTEGER NOT NULL)",
    );
    const root = fromBase64(args.data.root);
    const proof = args.data.proof.map((p) => fromBase64(p));
    if (root?.length !== 32 || proof.some((p) => p?.length !== 32))
      return { status: 400, reason: "hashes must be base64 of 32 bytes" };
    const hashes = proof as Uint8Array[];

    const seen = this.#state();
    if (oldSize !== seen.size) return { status: 409, size: seen.size };
    // tlog-witness: a proof from size 0 is meaningless, and the empty tree has one root.
    if (oldSize === 0 && hashes.length > 0) return { status: 422, reason: "a proof was sent with old size 0" };
    if (oldSize > size) return { status: 400, reason: "old size is larger than the checkpoint size" };
    if (size === 0 && !bytesEqual(root, EMPTY_ROOT))
      return { status: 422, reason: 'size 0 with a root other than SHA-256("")' };
    if (size === seen.size && !bytesEqual(root, seen.root)) {
      return {
        status: 422,
        reason: `checkpoint of size ${size} has a different root than the one this witness cosigned`,
      };
    }
    if (size > oldSize && oldSize > 0 && !(await verifyConsistency(sha256, oldSize, size, seen.root, root, hashes))) {
      return { status: 422, reason: `consistency proof from size ${oldSize} to ${size} does not verify` };
    }
    if (size === oldSize && hashes.length > 0) return { status: 422, reason: "a proof was sent for an unchanged size" };

    const now = Date.now();
    // Re-read inside the transaction: another request may have moved the state while the proof
    // was checked (WebCrypto awaits let other calls in). Only an unchanged state is replaced.
    const moved = this.ctx.storage.transactionSync(() => {
      const current = this.#state();
      if (current.size !== seen.size || !bytesEqual(current.root, seen.root)) return current.size;
      this.#sql.exec(
        "INSERT INTO witnessed (id, size, root, note, ts) VALUES (1, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET size = excluded.size, root = excluded.root, note = excluded.note, ts = excluded.ts",
        size,
        root,
        note,
        now,
      );
      return null;
    });
    if (moved !== null) return { status: 409, size: moved };
    const config = await loadWitnessConfig(this.env);
    // The state is stored; only now is the cosignature made and returned (tlog-witness).
    const line = await cosign(config.cosigner, body, Math.max(1, Math.floor(now / 1000)));
    return { status: 200, lines: line };
  }

  /** The last cosigned checkpoint note and size, for operators (GET /checkpoint). */
  async latest(): Promise<{ size: number; note: string | null }> {
    if (
      this.#sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'witnessed'").toArray().length === 0
    )
      return { size: 0, note: null };
    const row = this.#sql
      .exec<{ size: number; note: string }>("SELECT size, note FROM witnessed WHERE id = 1")
      .toArray()[0];
    return row ? { size: row.size, note: row.note } : { size: 0, note: null };
  }

  #state(): { size: number; root: Uint8Array } {
    const row = this.#sql
      .exec<{ size: number; root: ArrayBuffer }>("SELECT size, root FROM witnessed WHERE id = 1")
      .toArray()[0];
    return row ? { size: row.size, root: new Uint8Array(row.root) } : { size: 0, root: EMPTY_ROOT };
  }
}

/** RFC 6962 §2.1.1: the hash of the empty tree is SHA-256 of the empty string. */
const EMPTY_ROOT = fromHex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")!;

const size = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const AddInput = z.object({
  oldSize: size,
  size,
  root: z.string(),
  proof: z.array(z.string()).max(63),
  /** The checkpoint body (the signed note's text), which the cosignature covers. */
  body: z.string().min(1).max(8192),
  /** The whole signed note, kept as evidence of what was cosigned. */
  note: z.string().min(1).max(16384),
});

/** Arguments of {@link WitnessLog.addCheckpoint}. */
export type AddInput = z.input<typeof AddInput>;

/** What the witness answers: cosignature lines, its size on a conflict, or a refusal. */
export type AddOutcome =
  | { status: 200; lines: string }
  | { status: 409; size: number }
  | { status: 400 | 422; reason: string };
