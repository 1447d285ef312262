import { credentialTarget, record } from "../audit/record";
import { dueLeases, endLease } from "../storage/leases";
import { iso, type VaultContext } from "../vault-context";

/**
 * Expires active leases whose deadline has passed: at most LEASE_EXPIRY_BATCH per call, in one
 * transaction, each with its `lease.expired` entry. Found through the partial index on active
 * leases' expires_at, never by scanning. Returns whether more are already due.
 */
export function expireDueLeases(ctx: VaultContext): { expired: number; more: boolean } {
  const limit = ctx.config.LEASE_EXPIRY_BATCH;
  const due = dueLeases(ctx.sql, ctx.now(), limit);
  let expired = 0;
  ctx.storage.transactionSync(() => {
    for (const lease of due) {
      // ended_at is the deadline itself, not when the alarm got to it: that is when access ended.
      if (!endLease(ctx.sql, lease.id, "expired", lease.expires_at, null)) continue;
      expired++;
      // Test-only crash point (outbox/faults.ts): inside the transaction, so the batch rolls back.
      if (expired === 2) ctx.faults.pointSync("mid-expiry-batch");
      record(ctx, null, {
        type: "lease.expired",
        target: credentialTarget(lease.credential_id, lease.version),
        details: { lease_id: lease.id, holder: lease.identity, expired_at: iso(lease.expires_at) },
      });
    }
  });
  return { expired, more: due.length === limit };
}
