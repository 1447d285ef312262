import { z } from "zod";

/**
 * Per-tenant counters (issue 13 §4): what each TenantVault counts, what it answers over RPC, and
 * the P0/P1 conditions computed from it. Declared once here; the object's storage
 * (durable-objects/metrics/), the Analytics Engine data point and the Prometheus text
 * (worker/routes/operator-metrics.ts) are all derived from these lists.
 */

/** Every counter and its Prometheus help text. Metric names are `ghostvault_<name>_total`. */
export const COUNTERS = {
  requests: "Requests handled by the tenant's Durable Object, any outcome.",
  errors: "Requests that failed on the server's side (5xx: internal, KMS or D1 unavailable, integrity).",
  leases_issued: "Lease requests that handed out a value (POST /v1/leases and the CI entry points).",
  leases_denied: "Lease requests refused with a 4xx (bad token, role, ACL, unknown credential, bad input).",
  leases_failed: "Lease requests that failed with a 5xx: the vault could not serve an allowed request.",
  audit_append_failures: "Audit entries that could not be written (the operation that needed them failed closed).",
  kms_calls: "Calls to the KMS (generate, unwrap, rewrap of tenant KEKs).",
  kms_failures: "KMS calls that failed (timeout, 5xx, throttled, refused, malformed).",
  integrity_violations:
    "Integrity violations seen: stored data disagreeing with the object's record, or a failed audit chain verification.",
} as const;

/** One of the counters. */
export type CounterName = keyof typeof COUNTERS;

/** The counters in a fixed order (column order in storage, double order in Analytics Engine). */
export const COUNTER_NAMES = Object.keys(COUNTERS) as CounterName[];

/** Upper bounds (ms, inclusive) of the request latency histogram; a last, unbounded bucket follows. */
export const LATENCY_BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000] as const;

/** The window the P1 rate signals look at (the seed: "lease issuance failure > 5% over 5 minutes"). */
export const SIGNAL_WINDOW_MINUTES = 5;

/** The lease issuance failure rate above which the P1 signal fires. */
export const LEASE_FAILURE_RATE_THRESHOLD = 0.05;

const Count = z.number().int().min(0);
const Counts = z.strictObject(
  Object.fromEntries(COUNTER_NAMES.map((n) => [n, Count])) as Record<CounterName, typeof Count>,
);

/** Counter values, one per counter. */
export type Counts = z.infer<typeof Counts>;

/** All counters at zero. */
export function zeroCounts(): Counts {
  return Object.fromEntries(COUNTER_NAMES.map((n) => [n, 0])) as Counts;
}

/**
 * What one TenantVault answers to `metricsSnapshot()`: counters since the object began counting,
 * the latency histogram, the last SIGNAL_WINDOW_MINUTES of counters, and when the KMS last
 * failed and last answered (to tell "failing now" from "failed a while ago").
 */
export const TenantMetricsSchema = z.strictObject({
  tenant_id: z.string(),
  /** The object's clock when the snapshot was taken, ms since the epoch. */
  at: z.number().int(),
  totals: Counts,
  latency: z.strictObject({
    /** Per bucket of LATENCY_BUCKETS_MS plus the unbounded one; not cumulative. */
    buckets: z.array(Count).length(LATENCY_BUCKETS_MS.length + 1),
    sum_ms: Count,
    count: Count,
  }),
  window: z.strictObject({ minutes: z.number().int(), counts: Counts }),
  kms_last_failure_at: z.number().int().nullable(),
  kms_last_success_at: z.number().int().nullable(),
});

/** One tenant's metrics. */
export type TenantMetrics = z.infer<typeof TenantMetricsSchema>;
