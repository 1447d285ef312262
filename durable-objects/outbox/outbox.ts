import { z } from "zod";
import { d1Message } from "../../worker/core/db/tenant-db";
import { VaultError } from "../../worker/contract/errors";
import { credentialTarget, record, type Recorded } from "../audit/record";
import type { Actor, VaultContext } from "../vault-context";
import { applyMutation, encodeMutation, MutationSchema, type Mutation } from "./mutations";
import type { CachedCredential } from "../credential-cache";
import { deleteCredentialCopies } from "../storage/credential-copies";

/**
 * The outbox between the tenant's object and D1 (issue 18; docs/security-model.md "Atomicity").
 * A D1 change is first written as intent: the audit entry, the object's own state (credential
 * head) and an outbox row with the idempotent mutation, in one object transaction. Then the
 * mutation is applied to D1 and the row deleted. Rows left pending (the object died, D1 failed)
 * are applied on start, on every alarm, and before any read of their credential, in order.
 */

/**
 * The outbox key (`credential_id` and `credential_name`) of the tenant's KEK rows (kek/rotation.ts).
 * No credential id or name can take it: ids start with `cred_`, and names cannot contain ':'.
 */
export const KEK_OUTBOX_KEY = "kek:tenant";

/** Pending rows the object holds before it refuses new writes with 503: the queue is bounded. */
export const OUTBOX_MAX_PENDING = 100;
/**
 * Longest wait for one outbox mutation in D1. Past it the request goes on (the change stays
 * pending and is retried): no write or read hangs on a stuck D1 for longer than this per row.
 * A late completion of the abandoned call is harmless: every mutation is a compare-and-set.
 */
export const OUTBOX_APPLY_TIMEOUT_MS = 10_000;
/** Longest pause between retries of pending rows (exponential backoff from one second). */
export const OUTBOX_MAX_BACKOFF_MS = 300_000;

/** One change to write through the outbox. */
export interface PendingChange {
  credentialId: string;
  /** The credential's name, so a read by name finds its pending rows. */
  name: string;
  mutation: Mutation;
}

const RowSchema = z.object({ seq: z.number().int(), mutation: z.string(), attempts: z.number().int() });

/**
 * The object's in-memory side of the outbox: per-credential locks (one writer of a credential's
 * D1 rows at a time, so every compare-and-set sees the state the object last wrote) and a count
 * of pending rows, so the lease hot path pays nothing when the outbox is empty.
 */
export class OutboxState {
  #locks = new Map<string, Promise<void>>();
  /** Rows pending, or null until first counted from storage. Only ever too high, never too low. */
  pending: number | null = null;

  /** Runs `fn` alone for `key` (a credential id or `name:<name>`): later callers queue behind it. */
  async exclusive<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const before = this.#locks.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = before.then(() => mine);
    this.#locks.set(key, tail);
    await before;
    try {
      return await fn();
    } finally {
      release();
      if (this.#locks.get(key) === tail) this.#locks.delete(key);
    }
  }
}

function pendingCount(ctx: VaultContext): number {
  ctx.outbox.pending ??= ctx.sql.exec<{ n: number }>("SELECT count(*) AS n FROM d1_outbox").one().n;
  return ctx.outbox.pending;
}

/**
 * Writes a D1 change through the outbox: intent (audit entry, `alsoInObject`, outbox row) in one
 * transaction, then the D1 apply. The caller holds `ctx.outbox.exclusive(change.credentialId)`.
 * A D1 failure after the intent is committed does not fail the request: the change is recorded
 * and is applied by the next read of the credential or the next alarm (reads wait for it).
 */
export async function commitD1Change(
  ctx: VaultContext,
  actor: Actor,
  events: Recorded[],
  change: PendingChange,
  alsoInObject?: () => void,
): Promise<void> {
  // From the intent to D1 the head is ahead of D1: a lease that read D1 just before sees a race (409), not tampering.
  await ctx.credentials.writing(change.credentialId, () => commit(ctx, actor, events, change, alsoInObject));
}

async function commit(
  ctx: VaultContext,
  actor: Actor,
  events: Recorded[],
  change: PendingChange,
  alsoInObject?: () => void,
): Promise<void> {
  if (pendingCount(ctx) >= OUTBOX_MAX_PENDING)
    throw new VaultError("unavailable", "the credential store is not accepting changes right now; retry later");
  ctx.storage.transactionSync(() => {
    alsoInObject?.();
    // With the intent, so no stored copy of the rows before this change outlives a crash.
    deleteCredentialCopies(ctx.sql, change.credentialId);
    for (const event of events) record(ctx, actor, event);
    ctx.sql.exec(
      "INSERT INTO d1_outbox (credential_id, credential_name, mutation, created_at, attempts, next_attempt_at) VALUES (?, ?, ?, ?, 0, ?)",
      // next_attempt_at is real time, like every backoff deadline here (a test's fixed clock is not).
      change.credentialId,
      change.name,
      encodeMutation(change.mutation),
      ctx.now(),
      Date.now(),
    );
  });
  ctx.outbox.pending = pendingCount(ctx) + 1;
  ctx.credentials.invalidate(change.credentialId);
  await ctx.faults.point("after-outbox-commit");
  try {
    await applyPending(ctx, change.credentialId);
  } catch (error) {
    console.warn("outbox apply deferred", {
      request_id: actor.requestId,
      credential_id: change.credentialId,
      error: d1Message(error),
    });
    await ctx.scheduleAlarm(Date.now() + 1000);
  }
}

/**
 * Applies the pending rows of one credential, oldest first, each deleted once applied. The caller
 * holds the credential's lock. Throws 503 `unavailable` if D1 fails; the rest stay pending.
 */
export async function applyPending(ctx: VaultContext, credentialId: string): Promise<void> {
  if (pendingCount(ctx) === 0) return;
  const rows = ctx.sql
    .exec("SELECT seq, mutation, attempts FROM d1_outbox WHERE credential_id = ? ORDER BY seq", credentialId)
    .toArray()
    .map((r) => RowSchema.parse(r));
  for (const row of rows) {
    const mutation = MutationSchema.parse(JSON.parse(row.mutation));
    let applied;
    try {
      applied = await withTimeout(
        applyMutation(ctx.db, credentialId, mutation),
        ctx.faults.applyTimeout(OUTBOX_APPLY_TIMEOUT_MS),
      );
    } catch (error) {
      const backoff = Math.min(1000 * 2 ** row.attempts, OUTBOX_MAX_BACKOFF_MS);
      ctx.sql.exec(
        "UPDATE d1_outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE seq = ?",
        Date.now() + backoff,
        d1Message(error),
        row.seq,
      );
      throw new VaultError("unavailable", "the credential store is unavailable; retry later");
    }
    await ctx.faults.point("after-d1-write");
    const conflict = applied.conflict;
    ctx.storage.transactionSync(() => {
      if (conflict) {
        record(ctx, null, {
          type: "integrity.violation",
          target: credentialTarget(credentialId),
          outcome: "error",
          details: {
            operation: `outbox.${mutation.kind}`,
            d1:
              conflict.d1 === null || conflict.d1 === "name_taken"
                ? conflict.d1
                : { updated_at: conflict.d1.updatedAt, current_version: conflict.d1.currentVersion },
            resolution: conflict.resolution,
          },
        });
      }
      const removed = ctx.sql.exec("DELETE FROM d1_outbox WHERE seq = ?", row.seq).rowsWritten;
      if (removed > 0 && ctx.outbox.pending !== null) ctx.outbox.pending--;
      ctx.credentials.invalidate(credentialId);
      // A create that landed as written: its rows are known without reading them back.
      if (mutation.kind === "insert" && !conflict) ctx.credentials.written(insertedRows(ctx.tenantId, mutation));
    });
  }
}

/** The D1 rows an applied `insert` mutation wrote, as the lease path reads them. */
function insertedRows(tenantId: string, m: Extract<Mutation, { kind: "insert" }>): CachedCredential {
  return {
    credential: { ...m.row, tenantId },
    current: { ...m.first, tenantId, credentialId: m.row.id },
  };
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>(
    (_resolve, reject) => (timer = setTimeout(() => reject(new Error(`D1 did not answer within ${ms} ms`)), ms)),
  );
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Before a read of `ref` (id or name; every credential when omitted): applies whatever is pending
 * for it, so no read serves a state the audit log contradicts. Free when nothing is pending.
 * Throws 503 `unavailable` if that cannot be done now.
 */
export async function settle(ctx: VaultContext, ref?: string): Promise<void> {
  if (pendingCount(ctx) === 0) return;
  const ids = ctx.sql
    .exec<{ id: string }>(
      // Oldest first across credentials too: a name freed by a pending delete is reused by a later create.
      ref === undefined
        ? "SELECT credential_id AS id FROM d1_outbox GROUP BY credential_id ORDER BY min(seq)"
        : "SELECT credential_id AS id FROM d1_outbox WHERE credential_id = ?1 OR credential_name = ?1 GROUP BY credential_id ORDER BY min(seq)",
      ...(ref === undefined ? [] : [ref]),
    )
    .toArray()
    .map((r) => r.id);
  for (const id of ids) await ctx.outbox.exclusive(id, () => applyPending(ctx, id));
}

/**
 * The start-up and alarm step: applies every pending row it can. Returns when to try again (the
 * earliest backoff deadline) if rows are left, or null when the outbox is empty.
 */
export async function drainOutbox(ctx: VaultContext): Promise<number | null> {
  try {
    await settle(ctx);
  } catch (error) {
    if (!(error instanceof VaultError)) throw error;
  }
  if (pendingCount(ctx) === 0) return null;
  // Never sooner than a second from now: a drain that stopped at one failing credential leaves the
  // rows after it with deadlines already past, and an alarm set in the past fires at once, so
  // without this floor a dead D1 would be retried in a tight loop.
  const at = ctx.sql.exec<{ at: number | null }>("SELECT min(next_attempt_at) AS at FROM d1_outbox").one().at;
  return Math.max(at ?? 0, Date.now() + 1000);
}
