import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { describe, expect, it } from "vitest";
import {
  COUNTER_NAMES,
  LATENCY_BUCKETS_MS,
  zeroCounts,
  type Counts,
  type TenantMetrics,
} from "../../../worker/contract/metrics";
import { evaluateSignals } from "../../../worker/contract/signals";
import { formatPrometheus, PROMETHEUS_CONTENT_TYPE } from "../../../worker/routes/prometheus";

/**
 * The operator's Prometheus text (issue 13 §4), read back by an independent parser
 * (parse-prometheus-text-format, a port of the Prometheus Python client's parser), plus the
 * structural rules a scraper relies on that a lenient parser would not enforce.
 */

const NOW = Date.UTC(2026, 11, 1, 12, 0, 0);

function tenant(
  id: string,
  totals: Partial<Counts>,
  window: Partial<Counts> = {},
  kms: { failure?: number; success?: number } = {},
): TenantMetrics {
  const buckets = Array(LATENCY_BUCKETS_MS.length + 1).fill(0) as number[];
  buckets[0] = 2; // two requests of ≤ 5 ms
  buckets[3] = 1; // one of ≤ 50 ms
  buckets[LATENCY_BUCKETS_MS.length] = 1; // one over the last bound
  return {
    tenant_id: id,
    at: NOW,
    totals: { ...zeroCounts(), ...totals },
    latency: { buckets, sum_ms: 6_050, count: 4 },
    window: { minutes: 5, counts: { ...zeroCounts(), ...window } },
    kms_last_failure_at: kms.failure ?? null,
    kms_last_success_at: kms.success ?? null,
  };
}

type Family = {
  name: string;
  help: string;
  type: string;
  metrics: Array<{
    labels?: Record<string, string>;
    value?: string;
    buckets?: Record<string, string>;
    count?: string;
    sum?: string;
  }>;
};

describe("Prometheus exposition", () => {
  const tenants = [
    tenant(
      "aaaa0000aaaa0000aaaa",
      { requests: 10, leases_issued: 7, leases_failed: 1 },
      { leases_issued: 7, leases_failed: 1 },
      { success: NOW - 1000 },
    ),
    tenant("bbbb0000bbbb0000bbbb", { requests: 3, audit_append_failures: 2 }, { audit_append_failures: 2 }),
  ];
  const report = evaluateSignals(tenants, NOW);
  const text = formatPrometheus(tenants, report, 0);
  const families = parsePrometheusTextFormat(text) as Family[];
  const byName = new Map(families.map((f) => [f.name, f]));

  it("parses with an independent parser: every counter per tenant, with help and type", () => {
    for (const name of COUNTER_NAMES) {
      const family = byName.get(`ghostvault_${name}_total`)!;
      expect(family, name).toBeDefined();
      expect(family.type).toBe("COUNTER");
      expect(family.help.length).toBeGreaterThan(10);
      expect(family.metrics.map((m) => [m.labels?.tenant, Number(m.value)])).toEqual(
        tenants.map((t) => [t.tenant_id, t.totals[name]]),
      );
    }
  });

  it("writes the latency histogram in seconds, with cumulative buckets ending at +Inf = count", () => {
    // Read from the lines themselves: the parser above flattens labelled histograms into one.
    expect(byName.get("ghostvault_request_duration_seconds")!.type).toBe("HISTOGRAM");
    const tenantA = text
      .split("\n")
      .filter(
        (l) => l.startsWith("ghostvault_request_duration_seconds") && l.includes('tenant="aaaa0000aaaa0000aaaa"'),
      );
    expect(tenantA).toEqual([
      ...LATENCY_BUCKETS_MS.map(
        (ms, i) =>
          `ghostvault_request_duration_seconds_bucket{tenant="aaaa0000aaaa0000aaaa",le="${ms / 1000}"} ${i < 3 ? 2 : 3}`,
      ),
      'ghostvault_request_duration_seconds_bucket{tenant="aaaa0000aaaa0000aaaa",le="+Inf"} 4',
      'ghostvault_request_duration_seconds_sum{tenant="aaaa0000aaaa0000aaaa"} 6.05',
      'ghostvault_request_duration_seconds_count{tenant="aaaa0000aaaa0000aaaa"} 4',
    ]);
  });

  it("exports each signal as a 0/1 gauge, so an alert rule can page on it", () => {
    const firing = byName.get("ghostvault_signal_firing")!;
    expect(firing.type).toBe("GAUGE");
    const values = Object.fromEntries(firing.metrics.map((m) => [m.labels!.signal, Number(m.value)]));
    // 1 of 8 lease requests failed (12.5% > 5%); two audit entries could not be written.
    expect(values).toEqual({
      lease_issuance_failure_rate: 1,
      audit_write_failures: 1,
      integrity_violations: 0,
      kms_unavailable: 0,
      tenants_unreachable: 0,
    });
    expect(byName.get("ghostvault_kms_last_success_timestamp_seconds")!.metrics).toEqual([
      { labels: { tenant: "aaaa0000aaaa0000aaaa" }, value: String((NOW - 1000) / 1000) },
    ]);
    // A tenant whose KMS never failed has no failure timestamp sample (absent, not 0).
    expect(byName.get("ghostvault_kms_last_failure_timestamp_seconds")!.metrics).toEqual([]);
    expect(byName.get("ghostvault_metrics_truncated")!.metrics).toEqual([{ value: "0" }]);
    expect(byName.get("ghostvault_metrics_tenants")!.metrics.map((m) => [m.labels!.state, m.value])).toEqual([
      ["checked", "2"],
      ["unreachable", "0"],
    ]);
  });

  it("declares each family once, HELP then TYPE, before its samples, and ends with a newline", () => {
    expect(PROMETHEUS_CONTENT_TYPE).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(text.endsWith("\n")).toBe(true);
    const declared: string[] = [];
    let current: { name: string; type: string } | null = null;
    const lines = text.trimEnd().split("\n");
    lines.forEach((line, i) => {
      const help = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) \S/.exec(line);
      if (help) {
        expect(declared, `family ${help[1]} declared twice`).not.toContain(help[1]);
        declared.push(help[1]!);
        expect(lines[i + 1]).toMatch(new RegExp(`^# TYPE ${help[1]} (counter|gauge|histogram)$`));
        current = { name: help[1]!, type: lines[i + 1]!.split(" ")[3]! };
        return;
      }
      if (line.startsWith("# TYPE ")) return;
      const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? (\S+)$/.exec(line);
      expect(sample, `line ${i + 1}: ${line}`).not.toBeNull();
      const suffixes = current!.type === "histogram" ? ["_bucket", "_sum", "_count"] : [""];
      expect(
        suffixes.map((s) => current!.name + s),
        line,
      ).toContain(sample![1]);
      expect(Number.isNaN(Number(sample![3].replace("+Inf", "Infinity"))), line).toBe(false);
    });
  });

  it("escapes label values, so no tenant id can forge another sample", () => {
    const hostile = tenant('x"} 1\nghostvault_requests_total{tenant="victim', { requests: 1 });
    const out = formatPrometheus([hostile], evaluateSignals([hostile], NOW), 0);
    const parsed = parsePrometheusTextFormat(out) as Family[];
    const requests = parsed.find((f) => f.name === "ghostvault_requests_total")!;
    expect(requests.metrics).toEqual([{ labels: { tenant: hostile.tenant_id }, value: "1" }]);
  });
});

describe("signals", () => {
  it("fire nothing with no traffic at all (no division by zero)", () => {
    const report = evaluateSignals([tenant("cccc0000cccc0000cccc", {})], NOW);
    expect(report.firing).toEqual([]);
    expect(report.signals.find((s) => s.name === "lease_issuance_failure_rate")!.numbers.rate).toBe(0);
  });

  it("count denials out of the failure rate: refusing is the vault working", () => {
    const report = evaluateSignals([tenant("dddd0000dddd0000dddd", {}, { leases_issued: 1, leases_denied: 500 })], NOW);
    expect(report.firing).toEqual([]);
  });

  it("sum the rate over the fleet: one tenant's failure among many healthy leases does not page", () => {
    const report = evaluateSignals(
      [
        tenant("eeee0000eeee0000eeee", {}, { leases_failed: 1 }),
        tenant("ffff0000ffff0000ffff", {}, { leases_issued: 99 }),
      ],
      NOW,
    );
    expect(report.signals.find((s) => s.name === "lease_issuance_failure_rate")).toMatchObject({
      firing: false,
      numbers: { rate: 0.01 },
      tenants: [{ tenant_id: "eeee0000eeee0000eeee", failed: 1 }],
    });
  });

  it("report tenants whose object did not answer, and a truncated scrape", () => {
    const report = evaluateSignals([], NOW, ["abab0000abab0000abab"], true);
    expect(report.firing).toEqual(["tenants_unreachable"]);
    expect(report.tenants_truncated).toBe(true);
  });

  it("KMS: a failure followed by a success does not fire; a failure after the last success does", () => {
    const recovered = tenant(
      "acac0000acac0000acac",
      {},
      { kms_calls: 2, kms_failures: 1 },
      { failure: NOW - 2000, success: NOW - 1000 },
    );
    const failing = tenant(
      "adad0000adad0000adad",
      {},
      { kms_calls: 2, kms_failures: 1 },
      { failure: NOW - 1000, success: NOW - 2000 },
    );
    expect(evaluateSignals([recovered], NOW).firing).toEqual([]);
    expect(evaluateSignals([failing], NOW).firing).toEqual(["kms_unavailable"]);
  });
});
