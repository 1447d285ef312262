import { ERROR_STATUS } from "../../worker/contract/errors";
import { COUNTER_NAMES, LATENCY_BUCKETS_MS, zeroCounts, type CounterName } from "../../worker/contract/metrics";
import type { Outcome } from "../../worker/contract/rpc";
import type { KmsProvider } from "../../worker/core/kms/provider";
import { addToMinute, foldOldMinutes, minuteOf, type MetricsDelta } from "./store";

/**
 * The object's counters between flushes (issue 13 §4). Ops and the KMS wrapper count into memory;
 * the object flushes once per request, after the response's outcome is known and outside the
 * operation's transaction (so an audit write that rolled the operation back is still counted):
 * one Analytics Engine data point per request, and the minute's row in SQLite at most once per
 * SAVE_EVERY_MS of real time (issue 16: one UPSERT per request was a measurable part of a lease).
 * Between saves the counts wait in memory, so an object evicted or restarted loses at most the
 * counts of its last second of requests before it went idle (the data points were already sent);
 * the operator's read (`metricsSnapshot`) saves first, so it always sees every count. Nothing here
 * may fail a request: a save that throws is logged and its deltas dropped.
 */

/** Longest real time (ms) counts wait in memory before the minute's row is written. */
export const SAVE_EVERY_MS = 1000;

/** The label of the operator's read of the counters: it saves whatever waits first. */
export const METRICS_READ = { operation: "metrics.read", code: "ok", save: "now" } as const;

/** Where data points go: Workers Analytics Engine, or the in-repo stand-in in tests. */
export type DataPointSink = Pick<AnalyticsEngineDataset, "writeDataPoint">;

/** Operations whose outcome counts as a lease issuance (issued / denied / failed). */
const LEASE_OPERATIONS = new Set(["leases.create", "ci.oidc.leases", "ci.webhook.leases"]);

/** Adds `from` into `into`: counters and histogram summed, KMS times the later one. */
function addDelta(into: MetricsDelta, from: MetricsDelta): void {
  for (const n of COUNTER_NAMES) into.counts[n] += from.counts[n];
  from.latency.forEach((c, i) => (into.latency[i]! += c));
  into.latencySumMs += from.latencySumMs;
  const later = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.max(a, b));
  into.kmsLastFailureAt = later(into.kmsLastFailureAt, from.kmsLastFailureAt);
  into.kmsLastSuccessAt = later(into.kmsLastSuccessAt, from.kmsLastSuccessAt);
}

function emptyDelta(): MetricsDelta {
  return {
    counts: zeroCounts(),
    latency: Array(LATENCY_BUCKETS_MS.length + 1).fill(0),
    latencySumMs: 0,
    kmsLastFailureAt: null,
    kmsLastSuccessAt: null,
  };
}

/** The latency bucket `ms` falls in: the first bound it does not exceed, else the unbounded one. */
export function latencyBucket(ms: number): number {
  const i = LATENCY_BUCKETS_MS.findIndex((bound) => ms <= bound);
  return i === -1 ? LATENCY_BUCKETS_MS.length : i;
}

/** Whether a verify answer reports a broken chain (not merely entries still waiting for a checkpoint). */
function brokenChain(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  const v = value as { ok?: unknown; unsigned_tail?: unknown };
  return v.ok === false && v.unsigned_tail === undefined;
}

/** One object's metrics accumulator. */
export class MetricsRecorder {
  #pending = emptyDelta();
  #foldedAt = -1;

  /** Drops what accumulated (a tenant never bootstrapped has nowhere to keep it). */
  discard(): void {
    this.#pending = emptyDelta();
  }

  /** Adds to a counter (audit append failures, integrity violations). */
  count(name: CounterName, n = 1): void {
    this.#pending.counts[name] += n;
  }

  /** Records one KMS call and how it ended. */
  kmsCall(ok: boolean, at: number): void {
    this.#pending.counts.kms_calls++;
    if (ok) this.#pending.kmsLastSuccessAt = at;
    else {
      this.#pending.counts.kms_failures++;
      this.#pending.kmsLastFailureAt = at;
    }
  }

  /** Classifies one request's outcome: request, error, lease issued/denied/failed, latency. */
  request(operation: string, outcome: Outcome<unknown>, elapsedMs: number): void {
    const p = this.#pending;
    p.counts.requests++;
    const status = outcome.ok ? 200 : ERROR_STATUS[outcome.error.code];
    if (status >= 500) p.counts.errors++;
    if (LEASE_OPERATIONS.has(operation)) {
      if (status >= 500) p.counts.leases_failed++;
      else if (status >= 400) p.counts.leases_denied++;
      else p.counts.leases_issued++;
    }
    if (operation === "audit.verify" && outcome.ok && brokenChain(outcome.value)) p.counts.integrity_violations++;
    const ms = Math.max(0, Math.round(elapsedMs));
    p.latency[latencyBucket(ms)]!++;
    p.latencySumMs += ms;
  }

  /**
   * Sends what accumulated since the last flush as one data point indexed by tenant, and adds it
   * to the counts waiting for the minute's row; writes that row (one UPSERT, and once a minute the
   * fold of rows past the retention) when the minute changed, SAVE_EVERY_MS have passed since the
   * last write, or `label.save` is "now" (a read of the counters). `label` names the request.
   */
  flush(
    storage: DurableObjectStorage,
    tenantId: string,
    now: number,
    sink: DataPointSink | undefined,
    label: { operation: string; code: string; save?: "now" },
  ): void {
    const delta = this.#pending;
    this.#pending = emptyDelta();
    const minute = minuteOf(now);
    if (COUNTER_NAMES.some((n) => delta.counts[n] !== 0)) {
      // Counts belong to the minute they happened in: a new minute writes the old one's first.
      if (this.#unsaved !== null && this.#unsaved.minute !== minute) this.#save(storage);
      this.#unsaved ??= { minute, delta: emptyDelta() };
      addDelta(this.#unsaved.delta, delta);
      try {
        // index1 = tenant (Analytics Engine samples per index); blob1/2 = operation and outcome code;
        // double1 = the request's latency, then one double per counter in COUNTER_NAMES order.
        sink?.writeDataPoint({
          indexes: [tenantId],
          blobs: [label.operation, label.code],
          doubles: [delta.latencySumMs, ...COUNTER_NAMES.map((n) => delta.counts[n])],
        });
      } catch (error) {
        console.error("metrics data point failed", { error: error instanceof Error ? error.message : String(error) });
      }
    }
    // Real time, not the test clock: this bounds how long counts wait in memory.
    if (label.save === "now" || Date.now() - this.#savedAt >= SAVE_EVERY_MS) this.#save(storage);
  }

  /** Counts waiting for the minute's row (the data points already carry them). */
  #unsaved: { minute: number; delta: MetricsDelta } | null = null;
  #savedAt = Number.NEGATIVE_INFINITY;

  /** Writes the waiting counts to their minute's row; a failure is logged and drops them. */
  #save(storage: DurableObjectStorage): void {
    const unsaved = this.#unsaved;
    this.#unsaved = null;
    this.#savedAt = Date.now();
    if (unsaved === null) return;
    try {
      if (unsaved.minute !== this.#foldedAt) {
        foldOldMinutes(storage, unsaved.minute);
        this.#foldedAt = unsaved.minute;
      }
      addToMinute(storage.sql, unsaved.minute, unsaved.delta);
    } catch (error) {
      console.error("metrics flush failed", { error: error instanceof Error ? error.message : String(error) });
    }
  }
}

/** The same KMS, with every call counted (success or failure) into `metrics`. */
export function countedKms(kms: KmsProvider, metrics: MetricsRecorder, now: () => number): KmsProvider {
  const counted = async <T>(call: () => Promise<T>): Promise<T> => {
    try {
      const result = await call();
      metrics.kmsCall(true, now());
      return result;
    } catch (error) {
      metrics.kmsCall(false, now());
      throw error;
    }
  };
  return {
    generateKek: (ctx) => counted(() => kms.generateKek(ctx)),
    unwrapKek: (wrapped, ctx) => counted(() => kms.unwrapKek(wrapped, ctx)),
    rewrapKek: (wrapped, ctx) => counted(() => kms.rewrapKek(wrapped, ctx)),
    wrapKek: (plaintext, ctx) => counted(() => kms.wrapKek(plaintext, ctx)),
  };
}
