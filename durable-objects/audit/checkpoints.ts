import { z } from "zod";
import { checkpointOrigin, signCheckpoint } from "../../worker/core/audit/checkpoint";
import { toHex } from "../../worker/core/audit/encoding";
import { merkleCheckpointOrigin, type CheckpointFormat } from "../../worker/core/audit/log-checkpoint";
import { VaultError } from "../../worker/contract/errors";
import type { VaultContext } from "../vault-context";
import { auditHead } from "./append";
import { merkleRoot, merkleSize } from "./merkle-store";
import { submitToWitnesses } from "./witnesses";

const CheckpointRow = z.object({ size: z.number().int(), ts: z.number().int(), note: z.string() });

/** A stored signed checkpoint. */
export type CheckpointRow = z.output<typeof CheckpointRow>;

/** The newest checkpoint, or null. */
export function latestCheckpoint(sql: SqlStorage): CheckpointRow | null {
  const rows = sql.exec("SELECT size, ts, note FROM checkpoints ORDER BY size DESC LIMIT 1").toArray();
  return rows.length === 0 ? null : CheckpointRow.parse(rows[0]);
}

/** The smallest checkpoint of size `size` or more, or null. */
export function checkpointAtOrAfter(sql: SqlStorage, size: number): CheckpointRow | null {
  const rows = sql.exec("SELECT size, ts, note FROM checkpoints WHERE size >= ? ORDER BY size LIMIT 1", size).toArray();
  return rows.length === 0 ? null : CheckpointRow.parse(rows[0]);
}

/**
 * The tenant's Merkle cut-over (docs/audit-events.md "Checkpoints"): how many entries the log had
 * when the vault signed its first Merkle checkpoint, or null while it still signs hash-chain
 * checkpoints. Every hash-chain checkpoint has a size at or below it; none is signed after it.
 */
export function merkleCutover(sql: SqlStorage): number | null {
  const rows = sql.exec<{ size: number }>("SELECT size FROM audit_cutover WHERE id = 1").toArray();
  return rows.length === 0 ? null : rows[0]!.size;
}

/**
 * Signs the checkpoint of entries 1..`size`: a Merkle checkpoint (RFC 6962 root from the stored
 * tree) once the tree holds every entry, else, for a log whose tree the alarm is still building
 * and that was never cut over, a hash-chain checkpoint. After the cut-over a missing tree is an
 * integrity fault, not a reason to go back to the old format: signing fails instead.
 */
async function signAt(ctx: VaultContext, size: number): Promise<{ note: string; format: CheckpointFormat }> {
  const signers = await ctx.signer;
  const head = auditHead(ctx.sql)?.seq ?? 0;
  if (merkleSize(ctx.sql) >= head) {
    const origin = merkleCheckpointOrigin(ctx.config.AUDIT_HOST, ctx.tenantId);
    const hash = toHex(merkleRoot(ctx.sql, size));
    return { note: await signCheckpoint(signers.merkle, { origin, size, hash }), format: "merkle" };
  }
  if (merkleCutover(ctx.sql) !== null)
    throw new VaultError(
      "integrity_error",
      "the audit Merkle tree is incomplete after the cut-over; no checkpoint is signed until it is rebuilt",
    );
  const { hash } = ctx.sql.exec<{ hash: string }>("SELECT hash FROM audit WHERE seq = ?", size).one();
  const origin = checkpointOrigin(ctx.config.AUDIT_HOST, ctx.tenantId);
  return { note: await signCheckpoint(signers.chain, { origin, size, hash }), format: "chain" };
}

/** Stores a signed note (first one per size wins) and, with the first Merkle note, the cut-over. */
function store(ctx: VaultContext, size: number, signed: { note: string; format: CheckpointFormat }): void {
  ctx.storage.transactionSync(() => {
    ctx.sql.exec("INSERT OR IGNORE INTO checkpoints (size, ts, note) VALUES (?, ?, ?)", size, ctx.now(), signed.note);
    if (signed.format === "merkle") {
      ctx.sql.exec(
        "INSERT OR IGNORE INTO audit_cutover (id, size, ts) VALUES (1, ?, ?)",
        auditHead(ctx.sql)?.seq ?? size,
        ctx.now(),
      );
    }
  });
}

/**
 * Signs and stores the checkpoint of entries 1..`size`, or returns the one already stored at that
 * size (one note per size, so repeated exports of the same range do not pile up rows). The hash
 * is read from storage: the caller names a size, never a hash.
 */
export async function checkpointAt(ctx: VaultContext, size: number): Promise<CheckpointRow> {
  const existing = checkpointsBetween(ctx.sql, size, size)[0];
  if (existing) return existing;
  store(ctx, size, await signAt(ctx, size));
  // Cosignatures before the note is served; a failing witness is retried by the alarm, never thrown.
  await submitToWitnesses(ctx);
  // Re-read: a concurrent request may have stored its own note at this size while we signed.
  return checkpointsBetween(ctx.sql, size, size)[0]!;
}

/**
 * Signs the current head now if no checkpoint covers it, so a client gets a fully covered log on
 * request. Bounded rate: a size is signed at most once, so a flood of such requests costs at most
 * one signature per new audit entry, and entries come only from (rate-limited) writes.
 */
export async function freshCheckpoint(ctx: VaultContext): Promise<void> {
  const head = auditHead(ctx.sql);
  const last = latestCheckpoint(ctx.sql);
  if (head && (!last || last.size < head.seq)) await checkpointAt(ctx, head.seq);
}

/** Checkpoints whose size falls in [from, to], oldest first. */
export function checkpointsBetween(sql: SqlStorage, from: number, to: number): CheckpointRow[] {
  return sql
    .exec("SELECT size, ts, note FROM checkpoints WHERE size BETWEEN ? AND ? ORDER BY size", from, to)
    .toArray()
    .map((r) => CheckpointRow.parse(r));
}

// Both questions of checkpointIfDue in one statement: it runs after every authenticated call (issue 16).
const CHECKPOINT_STATE = `SELECT (SELECT seq FROM audit ORDER BY seq DESC LIMIT 1) AS head,
  (SELECT size FROM checkpoints ORDER BY size DESC LIMIT 1) AS size,
  (SELECT ts FROM checkpoints ORDER BY size DESC LIMIT 1) AS ts`;

/** The log's head seq and the newest checkpoint's size and time (null when there is none). */
function checkpointState(sql: SqlStorage): { head: number | null; size: number | null; ts: number } {
  const { head, size, ts } = sql.exec(CHECKPOINT_STATE).one();
  const intOrNull = (x: unknown): x is number | null => x === null || Number.isSafeInteger(x);
  if (!intOrNull(head) || !intOrNull(size) || !intOrNull(ts) || (size !== null && ts === null))
    throw new Error("the audit log's head or newest checkpoint row is malformed");
  return { head, size, ts: ts ?? 0 };
}

/**
 * Signs a checkpoint of the current head when AUDIT_CHECKPOINT_EVERY entries have accumulated
 * since the last one, or AUDIT_CHECKPOINT_SECONDS have passed; otherwise
 * makes sure the alarm will come back for it. Entries are immutable, so signing outside the
 * append transaction is safe even if more entries land meanwhile.
 */
export async function checkpointIfDue(ctx: VaultContext): Promise<void> {
  // What the last check found, while no append of this object reached its size and its time has not
  // come (audit-state.ts): storage would say the same, so it is not asked again on every call.
  const known = ctx.audit.checkpointDue;
  if (known && ctx.audit.appendedThrough < known.size && (known.at === null || ctx.now() < known.at)) {
    if (known.at !== null) await ctx.scheduleAlarm(known.at);
    return;
  }
  ctx.audit.checkpointDue = null;
  const { head, size, ts } = checkpointState(ctx.sql);
  if (head === null) return;
  const last = size === null ? null : { size, ts };
  if (last && last.size >= head) {
    // Covered: nothing falls due, whatever the time, until an entry is appended.
    ctx.audit.checkpointDue = { size: head + 1, at: null };
    return;
  }
  const pending = head - (last?.size ?? 0);
  // The clock starts at the last checkpoint, or at the first entry for a log that has none.
  const since = last?.ts ?? ctx.sql.exec<{ ts: number }>("SELECT ts FROM audit ORDER BY seq LIMIT 1").one().ts;
  const dueAt = since + ctx.config.AUDIT_CHECKPOINT_SECONDS * 1000;
  if (pending < ctx.config.AUDIT_CHECKPOINT_EVERY && ctx.now() < dueAt) {
    ctx.audit.checkpointDue = { size: (last?.size ?? 0) + ctx.config.AUDIT_CHECKPOINT_EVERY, at: dueAt };
    await ctx.scheduleAlarm(dueAt);
    return;
  }
  const signed = await signAt(ctx, head);
  // Test-only crash point (outbox/faults.ts): signed, not yet stored.
  await ctx.faults.point("mid-checkpoint");
  store(ctx, head, signed);
  await submitToWitnesses(ctx);
}
