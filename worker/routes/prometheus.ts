import { COUNTER_NAMES, COUNTERS, LATENCY_BUCKETS_MS, type TenantMetrics } from "../contract/metrics";
import type { SignalsReport } from "../contract/signals";

/**
 * The Prometheus text exposition format (version 0.0.4) of the fleet's counters: one family per
 * counter, labelled by tenant, the request latency histogram in seconds, the KMS's last
 * failure/success times, and the signals as 0/1 gauges, so an alert rule can page on them
 * directly. Every family has exactly one `# HELP` and one `# TYPE` line before its samples.
 */

/** The Content-Type of the exposition format. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Label values escape backslash, double quote and line feed (the format's only escapes). */
function label(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function labels(pairs: Record<string, string>): string {
  if (Object.keys(pairs).length === 0) return "";
  return `{${Object.entries(pairs)
    .map(([k, v]) => `${k}="${label(v)}"`)
    .join(",")}}`;
}

/** A number as the format writes it: integers as such, `+Inf` for infinity. */
function num(n: number): string {
  return n === Infinity ? "+Inf" : String(n);
}

class Exposition {
  readonly #lines: string[] = [];

  family(name: string, type: "counter" | "gauge" | "histogram", help: string): this {
    this.#lines.push(`# HELP ${name} ${help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`, `# TYPE ${name} ${type}`);
    return this;
  }

  sample(name: string, pairs: Record<string, string>, value: number): this {
    this.#lines.push(`${name}${labels(pairs)} ${num(value)}`);
    return this;
  }

  text(): string {
    return `${this.#lines.join("\n")}\n`;
  }
}

/** The exposition of `tenants`' counters and of the signals computed from them. */
export function formatPrometheus(
  tenants: readonly TenantMetrics[],
  report: SignalsReport,
  unreachable: number,
): string {
  const out = new Exposition();
  for (const name of COUNTER_NAMES) {
    const metric = `ghostvault_${name}_total`;
    out.family(metric, "counter", COUNTERS[name]);
    for (const t of tenants) out.sample(metric, { tenant: t.tenant_id }, t.totals[name]);
  }
  const hist = "ghostvault_request_duration_seconds";
  out.family(
    hist,
    "histogram",
    "Time the tenant's Durable Object took to answer a request (I/O included), in seconds.",
  );
  for (const t of tenants) {
    // The stored buckets are per bucket; Prometheus buckets are cumulative (le = "less or equal").
    let cumulative = 0;
    LATENCY_BUCKETS_MS.forEach((bound, i) => {
      cumulative += t.latency.buckets[i]!;
      out.sample(`${hist}_bucket`, { tenant: t.tenant_id, le: String(bound / 1000) }, cumulative);
    });
    out.sample(`${hist}_bucket`, { tenant: t.tenant_id, le: "+Inf" }, t.latency.count);
    out.sample(`${hist}_sum`, { tenant: t.tenant_id }, t.latency.sum_ms / 1000);
    out.sample(`${hist}_count`, { tenant: t.tenant_id }, t.latency.count);
  }
  for (const [metric, field, help] of [
    [
      "ghostvault_kms_last_failure_timestamp_seconds",
      "kms_last_failure_at",
      "When a KMS call of the tenant last failed (Unix seconds); absent if never.",
    ],
    [
      "ghostvault_kms_last_success_timestamp_seconds",
      "kms_last_success_at",
      "When a KMS call of the tenant last succeeded (Unix seconds); absent if never.",
    ],
  ] as const) {
    out.family(metric, "gauge", help);
    for (const t of tenants) if (t[field] !== null) out.sample(metric, { tenant: t.tenant_id }, t[field] / 1000);
  }
  out.family(
    "ghostvault_signal_firing",
    "gauge",
    `Whether a P0/P1 signal of GET /v1/operator/signals fires now (1) or not (0), over the last ${report.window_minutes} minutes.`,
  );
  for (const s of report.signals)
    out.sample("ghostvault_signal_firing", { signal: s.name, severity: s.severity }, s.firing ? 1 : 0);
  out.family(
    "ghostvault_metrics_tenants",
    "gauge",
    "Tenants in this scrape: checked, and unreachable (their object did not answer).",
  );
  out.sample("ghostvault_metrics_tenants", { state: "checked" }, tenants.length);
  out.sample("ghostvault_metrics_tenants", { state: "unreachable" }, unreachable);
  out.family(
    "ghostvault_metrics_truncated",
    "gauge",
    "1 if more tenants are registered than one scrape reads (see the Analytics Engine dataset for the rest).",
  );
  out.sample("ghostvault_metrics_truncated", {}, report.tenants_truncated ? 1 : 0);
  return out.text();
}
