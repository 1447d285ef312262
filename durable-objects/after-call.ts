import { isOperation, type Operation } from "../worker/contract/operations";
import type { Outcome } from "../worker/contract/rpc";
import { checkpointIfDue } from "./audit/checkpoints";
import { backfillMerkle, MERKLE_BENCH_SKIP } from "./audit/merkle-store";
import { record } from "./audit/record";
import type { Actor, VaultContext } from "./vault-context";

/** Where a refused or failed operation is recorded; lease refusals have their own type. */
const DENIAL_TYPE: Partial<Record<Operation, string>> = { "leases.create": "lease.denied" };

/**
 * The audit bookkeeping after an authenticated call: records role refusals and server-side
 * failures (other refusals record themselves), signs a checkpoint if one is due, and builds a log
 * older than the Merkle tree into it a bounded batch at a time until the object knows its tree
 * complete (`ctx.audit.merkleBuilt`: then this is one property read per call). Never throws: the
 * call's answer is already decided.
 */
export async function afterCall(ctx: VaultContext, actor: Actor, op: string, outcome: Outcome<unknown>): Promise<void> {
  try {
    const code = outcome.ok ? null : outcome.error.code;
    if (code === "forbidden" || code === "internal" || code === "kms_unavailable") {
      const denied = code === "forbidden";
      ctx.storage.transactionSync(() =>
        record(ctx, actor, {
          type: denied ? ((isOperation(op) ? DENIAL_TYPE[op] : undefined) ?? "access.denied") : "operation.failed",
          target: null,
          outcome: denied ? "denied" : "error",
          details: { operation: op, code },
        }),
      );
    }
    await checkpointIfDue(ctx);
    // Not while the TEST_HOOKS-only bench switch holds this tenant's tree still (bench/merkle.mjs).
    if (!ctx.audit.merkleBuilt && !MERKLE_BENCH_SKIP.has(ctx.tenantId)) {
      if (backfillMerkle(ctx.storage) === "more") await ctx.scheduleAlarm(ctx.now() + ctx.config.KEK_SWEEP_PAUSE_MS);
      else ctx.audit.merkleBuilt = true;
    }
  } catch (error) {
    console.error("audit bookkeeping after a call failed", { request_id: actor.requestId, error: String(error) });
  }
}
