import {
  COUNTER_NAMES,
  LATENCY_BUCKETS_MS,
  SIGNAL_WINDOW_MINUTES,
  zeroCounts,
  type Counts,
  type TenantMetrics,
} from "../../worker/contract/metrics";

/**
 * The `metrics_minutes` table (STORAGE.md): one row per minute with counter deltas, the latency
 * histogram and the KMS's last failure/success times. Rows older than RETENTION_MINUTES are
 * folded into the row of minute 0, so totals never go down (Prometheus counters must not) and
 * the table holds at most RETENTION_MINUTES + 2 rows whatever the traffic.
 */

/** Minutes of per-minute rows kept before they are folded into minute 0. */
export const RETENTION_MINUTES = 60;

/** What one flush adds: counter deltas, latency observations, KMS times (null: none seen). */
export interface MetricsDelta {
  counts: Counts;
  latency: number[];
  latencySumMs: number;
  kmsLastFailureAt: number | null;
  kmsLastSuccessAt: number | null;
}

const LATENCY_COLUMNS = Array.from({ length: LATENCY_BUCKETS_MS.length + 1 }, (_, i) => `lat_${i}`);
const SUMMED = [...COUNTER_NAMES, ...LATENCY_COLUMNS, "latency_sum_ms"];
const LATEST = ["kms_last_failure_at", "kms_last_success_at"];
const COLUMNS = [...SUMMED, ...LATEST];

// On conflict counters add up; the KMS times keep the later one (max() is NULL if either is, hence coalesce).
const MERGE = [
  ...SUMMED.map((c) => `${c} = ${c} + excluded.${c}`),
  ...LATEST.map((c) => `${c} = coalesce(max(${c}, excluded.${c}), ${c}, excluded.${c})`),
].join(", ");
const UPSERT = `INSERT INTO metrics_minutes (minute, ${COLUMNS.join(", ")}) VALUES (${COLUMNS.map(() => "?")
  .concat("?")
  .join(", ")}) ON CONFLICT(minute) DO UPDATE SET ${MERGE}`;
const AGGREGATE = [
  ...SUMMED.map((c) => `coalesce(sum(${c}), 0) AS ${c}`),
  ...LATEST.map((c) => `max(${c}) AS ${c}`),
].join(", ");
// HAVING: with nothing to fold, the aggregate's single all-NULL row must not be inserted.
const FOLD = `INSERT INTO metrics_minutes (minute, ${COLUMNS.join(", ")}) SELECT 0, ${AGGREGATE} FROM metrics_minutes WHERE minute > 0 AND minute <= ? HAVING count(*) > 0 ON CONFLICT(minute) DO UPDATE SET ${MERGE}`;

/** The minute (since the epoch) that `ms` falls in. */
export function minuteOf(ms: number): number {
  return Math.floor(ms / 60_000);
}

/** Adds `delta` to the row of `minute`: one statement. */
export function addToMinute(sql: SqlStorage, minute: number, delta: MetricsDelta): void {
  sql.exec(
    UPSERT,
    minute,
    ...COUNTER_NAMES.map((n) => delta.counts[n]),
    ...delta.latency,
    delta.latencySumMs,
    delta.kmsLastFailureAt,
    delta.kmsLastSuccessAt,
  );
}

/** Folds rows older than the retention into minute 0, in one transaction. */
export function foldOldMinutes(storage: DurableObjectStorage, currentMinute: number): void {
  const before = currentMinute - RETENTION_MINUTES;
  // Usually nothing to fold (a young or busy tenant): a one-row probe is far cheaper to prepare
  // than the fold's aggregate, which every cold object's first save otherwise compiled (issue 16).
  if (
    storage.sql.exec("SELECT 1 FROM metrics_minutes WHERE minute > 0 AND minute <= ? LIMIT 1", before).toArray()
      .length === 0
  )
    return;
  storage.transactionSync(() => {
    storage.sql.exec(FOLD, before);
    storage.sql.exec("DELETE FROM metrics_minutes WHERE minute > 0 AND minute <= ?", before);
  });
}

type Row = Record<string, number | null>;

function countsOf(row: Row): Counts {
  const counts = zeroCounts();
  for (const n of COUNTER_NAMES) counts[n] = Number(row[n] ?? 0);
  return counts;
}

/** The snapshot the object answers with: totals, histogram, the signal window, KMS times. */
export function readMetrics(sql: SqlStorage, tenantId: string, now: number): TenantMetrics {
  const total = sql.exec<Row>(`SELECT ${AGGREGATE} FROM metrics_minutes`).one();
  // The current minute and the SIGNAL_WINDOW_MINUTES - 1 before it.
  const since = minuteOf(now) - SIGNAL_WINDOW_MINUTES + 1;
  const recent = sql.exec<Row>(`SELECT ${AGGREGATE} FROM metrics_minutes WHERE minute >= ?`, since).one();
  const buckets = LATENCY_COLUMNS.map((c) => Number(total[c] ?? 0));
  return {
    tenant_id: tenantId,
    at: now,
    totals: countsOf(total),
    latency: { buckets, sum_ms: Number(total.latency_sum_ms ?? 0), count: buckets.reduce((a, b) => a + b, 0) },
    window: { minutes: SIGNAL_WINDOW_MINUTES, counts: countsOf(recent) },
    kms_last_failure_at: total.kms_last_failure_at ?? null,
    kms_last_success_at: total.kms_last_success_at ?? null,
  };
}
