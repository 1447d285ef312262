import type { VaultClient } from "../../sdk/node";

/**
 * The seq of the newest entry, by exponential then binary search over `from_seq` (one entry per
 * request): O(log n) small reads instead of paging through the whole log.
 */
export async function headSeq(vault: VaultClient): Promise<number> {
  const exists = async (seq: number) => (await vault.audit.query({ from_seq: seq, limit: 1 })).items.length > 0;
  if (!(await exists(1))) return 0;
  let low = 1;
  let high = 2;
  while (await exists(high)) {
    low = high;
    high *= 2;
  }
  while (high - low > 1) {
    const mid = Math.floor((low + high) / 2);
    if (await exists(mid)) low = mid;
    else high = mid;
  }
  return low;
}

/**
 * The seqs of the first and last entries with `from` ≤ ts ≤ `to` (ISO 8601), from two filtered
 * queries and, when the window reaches the head, the head: null when no entry falls in it.
 */
export async function windowSeqs(
  vault: VaultClient,
  from: string,
  to: string,
): Promise<{ first: number; last: number } | null> {
  const first = (await vault.audit.query({ since: from, limit: 1 })).items[0]?.seq;
  if (first === undefined) return null;
  // The first entry after the window ends it; entry timestamps have millisecond precision.
  const after = new Date(Date.parse(to) + 1).toISOString();
  const next = (await vault.audit.query({ since: after, limit: 1 })).items[0]?.seq;
  const last = next === undefined ? await headSeq(vault) : next - 1;
  return last >= first ? { first, last } : null;
}
