import { checkpointIfDue } from "./audit/checkpoints";
import { backfillMerkle, MERKLE_BENCH_SKIP } from "./audit/merkle-store";
import { flushRefusalSummaries } from "./audit/refusals";
import { submitToWitnesses } from "./audit/witnesses";
import { purgeExpiredIdempotency } from "./idempotency";
import { sweepStep } from "./kek/rotation";
import { expireDueRequests } from "./ops/access-request-collect";
import { expireDueLeases } from "./ops/expiry";
import { d1Message } from "../worker/core/db/tenant-db";
import type { AlarmStep, FaultHook } from "./outbox/faults";
import { drainOutbox, OUTBOX_MAX_BACKOFF_MS } from "./outbox/outbox";
import { earliestRequestExpiry } from "./storage/access-requests";
import { earliestExpiry } from "./storage/leases";
import type { VaultContext } from "./vault-context";

/** Runs one step of the alarm; a step that throws answers null and counts as a failure. */
type RunStep = <T>(name: AlarmStep, fn: () => T | Promise<T>) => Promise<T | null>;

/** Applies pending outbox rows (D1 changes); re-arms the alarm at the backoff deadline if some are left. */
export async function drainPending(ctx: VaultContext): Promise<void> {
  const retryAt = await drainOutbox(ctx).catch((error: unknown) => {
    console.error("outbox drain failed", { error: d1Message(error) });
    return Date.now() + 1000;
  });
  if (retryAt !== null) await ctx.scheduleAlarm(Math.max(retryAt, Date.now()));
}

/**
 * One alarm run for a tenant: pending D1 changes first, then the background steps; a run with a
 * failed step is retried after 1 s, 2 s, 4 s … up to 5 minutes (real time, `backoff` counts the
 * failed runs in a row); finally the next lease or request deadline. Answers whether a step failed.
 */
export async function runAlarm(
  ctx: VaultContext,
  tenantId: string,
  faults: FaultHook,
  backoff: { failures: number },
): Promise<boolean> {
  let failed = false;
  const step: RunStep = async (name, fn) => {
    try {
      faults.step(name);
      return await fn();
    } catch (error) {
      console.error("alarm step failed; retried with backoff", { step: name, error: d1Message(error) });
      failed = true;
      return null;
    }
  };
  await step("outbox", () => drainPending(ctx));
  const backlog = await runAlarmSteps(ctx, tenantId, step);
  backoff.failures = failed ? backoff.failures + 1 : 0;
  const retryAt = failed ? Date.now() + Math.min(1000 * 2 ** (backoff.failures - 1), OUTBOX_MAX_BACKOFF_MS) : null;
  if (retryAt !== null) await ctx.scheduleAlarm(retryAt);
  // Deadlines already past are the backlog itself: the pause (or the backoff) set above decides
  // when it runs next. Re-arming at such a deadline would fire at once and undo the pause, so an
  // expiry storm's alarm runs would come back to back and starve requests (issue 16 goal 2).
  const next = earliestDeadline(ctx.sql);
  const notBefore = Math.max(backlog ? ctx.now() : Number.NEGATIVE_INFINITY, retryAt ?? Number.NEGATIVE_INFINITY);
  if (next !== null && next > notBefore) await ctx.scheduleAlarm(next);
  return failed;
}

/** The next deadline the alarm must meet: a lease's or an access request's. */
export function earliestDeadline(sql: SqlStorage): number | null {
  const times = [earliestExpiry(sql), earliestRequestExpiry(sql)].filter((t) => t !== null);
  return times.length === 0 ? null : Math.min(...times);
}

/**
 * The alarm's background work for one tenant, each part its own step so one that throws (D1 down
 * for the sweep, say) does not starve the others; every step is a transaction or idempotent, so
 * running it again duplicates nothing. Re-arms for the work a step left: backlogs pause so they
 * never starve requests. Answers whether lease or request expiries are left for a paused re-run.
 */
async function runAlarmSteps(ctx: VaultContext, tenantId: string, step: RunStep): Promise<boolean> {
  const summaryDue = await step("refusals", () => flushRefusalSummaries(ctx));
  const expiry = await step("expiry", () => expireDueLeases(ctx));
  const requests = await step("access-expiry", () => expireDueRequests(ctx));
  const sweep = await step("kek-sweep", () => sweepStep(ctx));
  const idempotency = await step("idempotency", () => purgeExpiredIdempotency(ctx));
  await step("checkpoint", () => checkpointIfDue(ctx));
  // Retries of witness submissions that failed (a new checkpoint is submitted as it is signed).
  await step("witness", () => submitToWitnesses(ctx));
  // Logs older than the Merkle tree are built into it once, a bounded batch per run.
  // (Not while the TEST_HOOKS-only bench switch holds this tenant's tree still: bench/merkle.mjs.)
  const merkle = await step("merkle", () => (MERKLE_BENCH_SKIP.has(tenantId) ? "done" : backfillMerkle(ctx.storage)));
  if (merkle === "more") await ctx.scheduleAlarm(ctx.now() + ctx.config.KEK_SWEEP_PAUSE_MS);
  if (expiry?.more || requests?.more) await ctx.scheduleAlarm(ctx.now() + ctx.config.LEASE_EXPIRY_PAUSE_MS);
  if (sweep === "more") await ctx.scheduleAlarm(ctx.now() + ctx.config.KEK_SWEEP_PAUSE_MS);
  if (idempotency !== null && idempotency !== undefined)
    await ctx.scheduleAlarm(idempotency === "more" ? ctx.now() + ctx.config.LEASE_EXPIRY_PAUSE_MS : idempotency);
  // Real time, not ctx.now(): under a test's fixed clock the minute never ends, and an alarm set in
  // the past would fire at once, find it still open and re-arm forever. In production they agree.
  if (summaryDue && summaryDue > Date.now()) await ctx.scheduleAlarm(summaryDue);
  return expiry?.more === true || requests?.more === true;
}
