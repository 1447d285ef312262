/**
 * What an object remembers about its own audit log between calls, so calls do not re-ask storage
 * questions whose answers only the object itself changes (issue 16). Each field can only make the
 * object look *more* often than needed, never skip work that is due:
 *
 * - `merkleBuilt`: the backfill run after calls (after-call.ts) found the Merkle tree complete, so
 *   calls stop running it (appends keep the tree complete; the alarm's backfill still repairs one).
 * - `appendedThrough`: the highest seq this object appended. A rolled-back append leaves it too
 *   high, which only brings the next checkpoint check forward (the check reads storage).
 * - `checkpointDue`: from the last checkpoint check that found nothing due, the head size and the
 *   time at which one next falls due (checkpoints.ts `checkpointIfDue`); no time when the log was
 *   fully covered, since then only an append can make one due. Another path's newer checkpoint
 *   only makes the next check come sooner than needed.
 */
export interface AuditState {
  merkleBuilt: boolean;
  appendedThrough: number;
  checkpointDue: { size: number; at: number | null } | null;
}

/** A fresh object's state: every question asked of storage once. */
export function newAuditState(): AuditState {
  return { merkleBuilt: false, appendedThrough: 0, checkpointDue: null };
}
