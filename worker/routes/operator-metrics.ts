import type { Context } from "hono";
import { z } from "zod";
import { VaultError } from "../contract/errors";
import { TenantMetricsSchema, type TenantMetrics } from "../contract/metrics";
import { unwrapOutcome } from "../contract/rpc";
import { evaluateSignals } from "../contract/signals";
import { existingTenantIds, listTenants } from "../core/db/registry";
import { ID_PATTERNS } from "../core/ids";
import type { OperatorEnv } from "../middleware/operator-auth";
import { vaultStub } from "./define";
import type { OperatorRoute } from "./operator";
import { formatPrometheus, PROMETHEUS_CONTENT_TYPE } from "./prometheus";

/**
 * The operator's read of the fleet's counters (issue 13 §4): `GET /v1/operator/metrics`
 * (Prometheus text) and `GET /v1/operator/signals` (the P0/P1 conditions firing now). They join
 * the operator router's table, behind its operator authentication: a tenant token never gets
 * here. Each tenant's object answers its own counters over RPC (`metricsSnapshot`), FAN_OUT at a time.
 */

/** Tenants read per call; past this the answer says it was truncated (runbook §7). */
export const MAX_SCRAPED_TENANTS = 1000;
const PAGE = 100;
const FAN_OUT = 8;
/** A tenant object that has not answered by then counts as unreachable: one stuck object cannot hang a scrape. */
const SNAPSHOT_TIMEOUT_MS = 10_000;
const MAX_NAMED = 100;

/** `?tenants=<id>,<id>`: at most MAX_NAMED tenant ids, to read only those. */
export const FleetQuerySchema = z.strictObject({
  tenants: z
    .string()
    .max(MAX_NAMED * 21, `at most ${MAX_NAMED} tenant ids`)
    .transform((s) => s.split(","))
    .pipe(
      z
        .array(z.string().regex(ID_PATTERNS.tenant, "each must be a tenant id (20 hex)"))
        .max(MAX_NAMED, `at most ${MAX_NAMED} tenant ids`),
    )
    .optional(),
});

/** Which tenants to read: those named (each must be registered), else the registry up to the cap. */
async function tenantsToRead(db: D1Database, query: unknown): Promise<{ ids: string[]; truncated: boolean }> {
  const named = FleetQuerySchema.parse(query ?? {}).tenants;
  if (named) {
    const ids = [...new Set(named)];
    const known = await existingTenantIds(db, ids);
    const unknown = ids.find((id) => !known.has(id));
    if (unknown !== undefined) throw new VaultError("not_found", `no tenant ${unknown} in the registry`);
    return { ids, truncated: false };
  }
  const ids: string[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await listTenants(db, { after, limit: Math.min(PAGE, MAX_SCRAPED_TENANTS - ids.length) });
    ids.push(...page.items.map((t) => t.id));
    if (page.next === null) return { ids, truncated: false };
    if (ids.length >= MAX_SCRAPED_TENANTS) return { ids, truncated: true };
    after = page.next;
  }
}

/** One tenant's counters, checked like any input; null for an object with no tenant. */
async function readTenant(env: Env, id: string): Promise<TenantMetrics | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error("no answer in time")), SNAPSHOT_TIMEOUT_MS)),
  );
  try {
    const outcome = await Promise.race([vaultStub(env, id).metricsSnapshot(), timeout]);
    return TenantMetricsSchema.nullable().parse(unwrapOutcome(outcome));
  } finally {
    clearTimeout(timer);
  }
}

/** Every listed tenant's counters, FAN_OUT at a time; those whose object failed or did not answer are listed apart. */
async function readFleet(c: Context<OperatorEnv>, query: unknown) {
  const { ids, truncated } = await tenantsToRead(c.env.DB, query);
  const metrics: TenantMetrics[] = [];
  const unreachable: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < ids.length) {
      const id = ids[next++]!;
      try {
        const m = await readTenant(c.env, id);
        if (m) metrics.push(m);
      } catch (error) {
        console.warn("tenant metrics read failed", {
          tenant_id: id,
          error: error instanceof Error ? error.message : String(error),
        });
        unreachable.push(id);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(FAN_OUT, ids.length) }, worker));
  // Answers arrive in any order; the output must not depend on it.
  metrics.sort((a, b) => a.tenant_id.localeCompare(b.tenant_id));
  unreachable.sort();
  return { metrics, unreachable, report: evaluateSignals(metrics, Date.now(), unreachable, truncated) };
}

const tag = "operator";

/** The metrics and signals routes, added to the operator router's table (worker/routes/operator.ts). */
export const operatorMetricsRoutes: OperatorRoute[] = [
  {
    method: "get",
    path: "/v1/operator/metrics",
    tag,
    role: null,
    status: 200,
    query: FleetQuerySchema,
    response: z.string(),
    summary: "Per-tenant counters and the P0/P1 signals as Prometheus text (version 0.0.4)",
    serve: async (c, _op, input) => {
      const { metrics, unreachable, report } = await readFleet(c, input.query);
      return new Response(formatPrometheus(metrics, report, unreachable.length), {
        headers: { "content-type": PROMETHEUS_CONTENT_TYPE, "cache-control": "no-store" },
      });
    },
  },
  {
    method: "get",
    path: "/v1/operator/signals",
    tag,
    role: null,
    status: 200,
    query: FleetQuerySchema,
    response: z.record(z.string(), z.unknown()),
    summary: "Which P0/P1 conditions fire now (last 5 minutes), with the numbers and tenants behind each",
    serve: async (c, _op, input) => (await readFleet(c, input.query)).report,
  },
];
