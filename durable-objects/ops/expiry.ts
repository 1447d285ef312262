import { credentialTarget, record } from "../audit/record";
import { expireDue } from "../storage/leases";
import { iso, type VaultContext } from "../vault-context";

/** One lease in a `leases.expired` entry (docs/audit-events.md). */
type ExpiredLease = { lease_id: string; holder: string; expired_at: string };

/**
 * Expires active leases whose deadline has passed: at most LEASE_EXPIRY_BATCH per call, in
 * transactions of LEASE_EXPIRY_CHUNK, each recording the leases it ended in `leases.expired`
 * entries (one per credential version). Found through the partial
 * index on active leases' expires_at, never by scanning. Returns whether more are already due.
 *
 * Why chunks with a pause between them: the object is single-threaded and a transaction is
 * synchronous, so a lease request arriving during one waits for all of it. A timer await opens the
 * input gate, so requests queued meanwhile run between chunks (issue 16 goal 2: issuance p99
 * during a 100,000-lease storm). A lease past its deadline is refused by every read and change
 * whether or not this sweep has reached it yet (ops/leases.ts `requireActive`, leaseView), so the
 * sweep may lag its deadlines without any lease being usable after them.
 */
export async function expireDueLeases(ctx: VaultContext): Promise<{ expired: number; more: boolean }> {
  const limit = ctx.config.LEASE_EXPIRY_BATCH;
  const chunk = Math.min(ctx.config.LEASE_EXPIRY_CHUNK, limit);
  let expired = 0;
  while (expired < limit) {
    if (expired > 0) await pause(ctx.config.LEASE_EXPIRY_CHUNK_PAUSE_MS);
    const want = Math.min(chunk, limit - expired);
    let ended = 0;
    ctx.storage.transactionSync(() => {
      // After the pause, in one synchronous step with its audit entries: a request that ran
      // meanwhile (a revocation, say) has already ended its lease, which is then not due.
      // ended_at is each lease's deadline itself, not when the sweep got to it: that is when access ended.
      const rows = expireDue(ctx.sql, ctx.now(), want);
      ended = rows.length;
      // Test-only crash point (outbox/faults.ts): inside the transaction, so the chunk rolls back.
      if (expired + ended >= 2 && expired < 2) ctx.faults.pointSync("mid-expiry-batch");
      const groups = new Map<string, { credentialId: string; version: number; leases: ExpiredLease[] }>();
      for (const lease of rows) {
        const key = `${lease.credential_id}|${lease.version}`;
        let group = groups.get(key);
        if (!group)
          groups.set(key, (group = { credentialId: lease.credential_id, version: lease.version, leases: [] }));
        group.leases.push({ lease_id: lease.id, holder: lease.identity, expired_at: iso(lease.expires_at) });
      }
      // One entry per credential version and chunk, listing every lease it ended: the audit append
      // (canonical JSON, SHA-256, four indexes, the Merkle leaf) was most of an expiry's cost, and
      // an entry per lease made a 100,000-lease storm 100,000 appends. Each lease is still named,
      // with its holder and deadline, in the same transaction as its state change.
      for (const group of groups.values())
        record(ctx, null, {
          type: "leases.expired",
          target: credentialTarget(group.credentialId, group.version),
          details: { leases: group.leases },
        });
    });
    expired += ended;
    if (ended < want) return { expired, more: false };
  }
  return { expired, more: true };
}

/** Lets queued requests run; 0 still yields to the event loop. */
function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
