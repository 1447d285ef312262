import {
  COUNTER_NAMES,
  LEASE_FAILURE_RATE_THRESHOLD,
  SIGNAL_WINDOW_MINUTES,
  zeroCounts,
  type Counts,
  type TenantMetrics,
} from "./metrics";

/**
 * The P0/P1 conditions of the seed's incident process (issue 13 §4), computed from the tenants'
 * counters over the last SIGNAL_WINDOW_MINUTES: what `GET /v1/operator/signals` answers. Pure, so
 * the same numbers give the same answer in a test and in production. docs/incident-runbook.md
 * says what to do when each fires.
 */

/** One condition: whether it fires now, the numbers behind it, and the tenants it concerns. */
export interface Signal {
  name:
    | "lease_issuance_failure_rate"
    | "audit_write_failures"
    | "integrity_violations"
    | "kms_unavailable"
    | "tenants_unreachable";
  severity: "P0" | "P1";
  firing: boolean;
  /** One line for a pager: what is wrong, with its numbers. */
  summary: string;
  numbers: Record<string, number | null>;
  /** Tenants with a non-zero share, largest first (at most MAX_LISTED). */
  tenants: Array<{ tenant_id: string } & Record<string, number | string | null>>;
}

/** The answer of `GET /v1/operator/signals`. */
export interface SignalsReport {
  at: string;
  window_minutes: number;
  tenants_checked: number;
  /** Whether more tenants are registered than one call reads (see the runbook). */
  tenants_truncated: boolean;
  firing: string[];
  signals: Signal[];
  /** Window sums over every checked tenant. */
  window: Counts;
}

/** Tenants listed per signal; the counts cover all of them. */
const MAX_LISTED = 50;

function sumWindows(tenants: readonly TenantMetrics[]): Counts {
  const sum = zeroCounts();
  for (const t of tenants) for (const n of COUNTER_NAMES) sum[n] += t.window.counts[n];
  return sum;
}

function listed<T extends { tenant_id: string }>(rows: T[], by: (row: T) => number): T[] {
  return rows
    .filter((r) => by(r) > 0)
    .sort((a, b) => by(b) - by(a))
    .slice(0, MAX_LISTED);
}

/** Whether the tenant's most recent KMS call in the window failed (a later success means it recovered). */
function kmsFailingNow(t: TenantMetrics): boolean {
  if (t.window.counts.kms_failures === 0 || t.kms_last_failure_at === null) return false;
  return t.kms_last_success_at === null || t.kms_last_failure_at >= t.kms_last_success_at;
}

/**
 * Evaluates every signal over `tenants`. `unreachable` are tenants whose object did not answer
 * (their counters are unknown, so that is a signal of its own); `truncated` that more tenants
 * exist than were read.
 */
export function evaluateSignals(
  tenants: readonly TenantMetrics[],
  now: number,
  unreachable: readonly string[] = [],
  truncated = false,
): SignalsReport {
  const w = sumWindows(tenants);
  const attempts = w.leases_issued + w.leases_failed;
  // Denials are the vault working as told; the rate is of allowed requests it could not serve.
  const rate = attempts === 0 ? 0 : w.leases_failed / attempts;
  const rows = tenants.map((t) => ({ tenant_id: t.tenant_id, ...t.window.counts }));
  const kmsFailing = tenants.filter(kmsFailingNow);
  const signals: Signal[] = [
    {
      name: "lease_issuance_failure_rate",
      severity: "P1",
      firing: rate > LEASE_FAILURE_RATE_THRESHOLD,
      summary: `${w.leases_failed} of ${attempts} lease requests failed in the last ${SIGNAL_WINDOW_MINUTES} minutes (${(rate * 100).toFixed(1)}%; fires above ${LEASE_FAILURE_RATE_THRESHOLD * 100}%)`,
      numbers: {
        failed: w.leases_failed,
        issued: w.leases_issued,
        denied: w.leases_denied,
        rate,
        threshold: LEASE_FAILURE_RATE_THRESHOLD,
      },
      tenants: listed(rows, (r) => r.leases_failed).map((r) => ({
        tenant_id: r.tenant_id,
        failed: r.leases_failed,
        issued: r.leases_issued,
      })),
    },
    {
      name: "audit_write_failures",
      severity: "P1",
      firing: w.audit_append_failures > 0,
      summary: `${w.audit_append_failures} audit entries could not be written in the last ${SIGNAL_WINDOW_MINUTES} minutes (fires on any)`,
      numbers: { failures: w.audit_append_failures },
      tenants: listed(rows, (r) => r.audit_append_failures).map((r) => ({
        tenant_id: r.tenant_id,
        failures: r.audit_append_failures,
      })),
    },
    {
      name: "integrity_violations",
      severity: "P0",
      firing: w.integrity_violations > 0,
      summary: `${w.integrity_violations} integrity violations in the last ${SIGNAL_WINDOW_MINUTES} minutes (fires on any)`,
      numbers: { violations: w.integrity_violations },
      tenants: listed(rows, (r) => r.integrity_violations).map((r) => ({
        tenant_id: r.tenant_id,
        violations: r.integrity_violations,
      })),
    },
    {
      name: "kms_unavailable",
      severity: "P1",
      firing: kmsFailing.length > 0,
      summary: `the KMS's last answer was a failure for ${kmsFailing.length} tenants (${w.kms_failures} of ${w.kms_calls} calls failed in the last ${SIGNAL_WINDOW_MINUTES} minutes)`,
      numbers: { tenants_failing: kmsFailing.length, calls: w.kms_calls, failures: w.kms_failures },
      tenants: kmsFailing.slice(0, MAX_LISTED).map((t) => ({
        tenant_id: t.tenant_id,
        failures: t.window.counts.kms_failures,
        last_failure_at: t.kms_last_failure_at === null ? null : new Date(t.kms_last_failure_at).toISOString(),
        last_success_at: t.kms_last_success_at === null ? null : new Date(t.kms_last_success_at).toISOString(),
      })),
    },
    {
      name: "tenants_unreachable",
      severity: "P1",
      firing: unreachable.length > 0,
      summary: `${unreachable.length} tenants' objects did not answer the metrics read`,
      numbers: { unreachable: unreachable.length },
      tenants: unreachable.slice(0, MAX_LISTED).map((tenant_id) => ({ tenant_id })),
    },
  ];
  return {
    at: new Date(now).toISOString(),
    window_minutes: SIGNAL_WINDOW_MINUTES,
    tenants_checked: tenants.length,
    tenants_truncated: truncated,
    firing: signals.filter((s) => s.firing).map((s) => s.name),
    signals,
    window: w,
  };
}
