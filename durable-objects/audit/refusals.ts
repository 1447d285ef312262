import { AsyncLocalStorage } from "node:async_hooks";
import { z } from "zod";
import type { VaultContext } from "../vault-context";
import { iso } from "../vault-context";
import { record, type Recorded } from "./record";

/**
 * The audit budget for refusals of callers who proved nothing (unknown or revoked token, bad
 * webhook signature, untrusted issuer, unparseable token). Such callers choose how often they
 * are refused, and the chain can never be pruned, so recording each one would let anyone grow a
 * tenant's Durable Object without bound (issue 9 §2). Per tenant and per minute, the first
 * `AUDIT_ANON_REFUSALS_PER_MINUTE` are recorded one by one; the rest only bump a counter keyed by
 * (reason, source IP, route) in `anon_refusals`, at most MAX_KEYS rows a minute, and are folded
 * into one `auth.denied_summary` entry when the minute closes (on the next refusal or by alarm).
 * Refusals of authenticated callers (role or ACL) are not budgeted: they are recorded one by one.
 */

/** Where a request came from, as the Worker saw it. */
export interface RequestSource {
  /** CF-Connecting-IP, or `unknown` when the Worker had none (local development). */
  ip: string;
  /** The operation or CI entry point the request was for. */
  route: string;
}

const MINUTE_MS = 60_000;
/** Distinct (reason, ip, route) counters per minute; later new keys share one `other` row. */
const MAX_KEYS = 64;
const OTHER = "other";

/** A client IP as the Worker passes it: anything that is not a short IP literal is `invalid`. */
export const SourceIpSchema = z
  .unknown()
  .transform((ip) =>
    ip == null ? "unknown" : typeof ip === "string" && /^[0-9A-Fa-f.:]{2,45}$/.test(ip) ? ip : "invalid",
  );

// A Durable Object serves interleaved requests; the source travels with each request's async
// context rather than in shared state, so ops deep in the call (refuseCi, authenticate) can read it.
const sources = new AsyncLocalStorage<RequestSource>();

/** Runs `fn` with `source` as the current request's origin. */
export function withRequestSource<T>(source: RequestSource, fn: () => T): T {
  return sources.run(source, fn);
}

const CounterRow = z.object({
  minute: z.number().int(),
  reason: z.string(),
  ip: z.string(),
  route: z.string(),
  count: z.number().int(),
  recorded: z.number().int(),
});

/** The counter row a refusal goes to: its own key, or `other` once the minute has MAX_KEYS keys. */
function counterKey(
  sql: SqlStorage,
  minute: number,
  key: { reason: string; ip: string; route: string },
): { reason: string; ip: string; route: string } {
  const exists =
    sql
      .exec(
        "SELECT 1 FROM anon_refusals WHERE minute = ? AND reason = ? AND ip = ? AND route = ?",
        minute,
        key.reason,
        key.ip,
        key.route,
      )
      .toArray().length > 0;
  if (exists) return key;
  const keys = sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM anon_refusals WHERE minute = ?", minute).one().n;
  return keys < MAX_KEYS ? key : { reason: OTHER, ip: OTHER, route: OTHER };
}

/**
 * Writes one `auth.denied_summary` entry for each closed minute (before `minute`) that had
 * refusals beyond the budget, then forgets those minutes' counters. Call inside a transaction.
 */
export function closeRefusalMinutes(ctx: VaultContext, minute: number): void {
  const rows = ctx.sql
    .exec(
      "SELECT minute, reason, ip, route, count, recorded FROM anon_refusals WHERE minute < ? ORDER BY minute, count DESC",
      minute,
    )
    .toArray()
    .map((r) => CounterRow.parse(r));
  if (rows.length === 0) return;
  const byMinute = new Map<number, typeof rows>();
  for (const row of rows) byMinute.set(row.minute, [...(byMinute.get(row.minute) ?? []), row]);
  for (const [closed, counters] of byMinute) {
    const folded = counters.reduce((n, c) => n + c.count - c.recorded, 0);
    if (folded === 0) continue;
    const recorded = counters.reduce((n, c) => n + c.recorded, 0);
    record(ctx, "anonymous", {
      type: "auth.denied_summary",
      target: null,
      outcome: "denied",
      details: {
        from: iso(closed * MINUTE_MS),
        to: iso((closed + 1) * MINUTE_MS),
        recorded,
        folded,
        counts: counters
          .filter((c) => c.count > c.recorded)
          .map((c) => ({ reason: c.reason, ip: c.ip, route: c.route, count: c.count - c.recorded })),
      },
    });
  }
  ctx.sql.exec("DELETE FROM anon_refusals WHERE minute < ?", minute);
}

/**
 * Closes every finished minute; the alarm calls this so a quiet tenant still gets its summary.
 * Returns when the alarm must fire again for a minute still open with folded refusals, or null.
 */
export function flushRefusalSummaries(ctx: VaultContext): number | null {
  const minute = Math.floor(ctx.now() / MINUTE_MS);
  ctx.storage.transactionSync(() => closeRefusalMinutes(ctx, minute));
  const open = ctx.sql
    .exec<{ n: number | null }>("SELECT MIN(minute) AS n FROM anon_refusals WHERE count > recorded")
    .one().n;
  return open === null ? null : (open + 1) * MINUTE_MS;
}

/**
 * Records the refusal of a caller who proved nothing, within the tenant's budget: `event` is
 * appended if this minute's budget has room, otherwise only counted under `reason` (a short code)
 * for the minute's summary. Returns how many such refusals this minute came from the same IP,
 * for callers that limit them.
 */
export function recordAnonymousRefusal(ctx: VaultContext, reason: string, event: Recorded): { fromSameIp: number } {
  const source = sources.getStore() ?? { ip: "unknown", route: "unknown" };
  const minute = Math.floor(ctx.now() / MINUTE_MS);
  let folded = false;
  let fromSameIp = 0;
  ctx.storage.transactionSync(() => {
    closeRefusalMinutes(ctx, minute);
    const key = counterKey(ctx.sql, minute, {
      reason: reason.slice(0, 64),
      ip: source.ip,
      route: source.route.slice(0, 64),
    });
    const recorded =
      ctx.sql.exec<{ n: number | null }>("SELECT SUM(recorded) AS n FROM anon_refusals WHERE minute = ?", minute).one()
        .n ?? 0;
    const individually = recorded < ctx.config.AUDIT_ANON_REFUSALS_PER_MINUTE;
    ctx.sql.exec(
      `INSERT INTO anon_refusals (minute, reason, ip, route, count, recorded) VALUES (?, ?, ?, ?, 1, ?)
       ON CONFLICT (minute, reason, ip, route) DO UPDATE SET count = count + 1, recorded = recorded + excluded.recorded`,
      minute,
      key.reason,
      key.ip,
      key.route,
      individually ? 1 : 0,
    );
    if (individually) record(ctx, "anonymous", event);
    folded = !individually;
    fromSameIp =
      ctx.sql
        .exec<{ n: number | null }>(
          "SELECT SUM(count) AS n FROM anon_refusals WHERE minute = ? AND ip = ?",
          minute,
          source.ip,
        )
        .one().n ?? 0;
  });
  // The summary is due when this minute ends, even if no refusal follows to close it.
  if (folded)
    ctx
      .scheduleAlarm((minute + 1) * MINUTE_MS)
      .catch((error: unknown) => console.error("could not arm the refusal summary alarm", { error: String(error) }));
  return { fromSameIp };
}
