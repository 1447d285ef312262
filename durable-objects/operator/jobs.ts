import { z } from "zod";
import { VaultError, type WireError } from "../../worker/contract/errors";
import type { Outcome } from "../../worker/contract/rpc";
import type { JobKind, StartJob, TenantAction } from "../../worker/contract/schemas/operator";
import { existingTenantIds, listTenants } from "../../worker/core/db/registry";
import { newTokenSecret } from "../../worker/core/ids";
import { signOperatorProof } from "../../worker/core/operator/proof";
import { operatorIdentity, type OperatorActor } from "../../worker/core/operator/tokens";
import { iso, isoOrNull } from "../vault-context";
import { appendOperatorLog } from "./storage";
import { logActor } from "./tokens";

/**
 * Fleet jobs (issue 13 §3): one row per job and one per (job, tenant) in the OperatorPlane's
 * SQLite. The object's alarm runs a batch of at most OPERATOR_JOB_CONCURRENCY tenants at once,
 * saves each result, and re-arms while any is pending, so a job survives the request that
 * started it, and a crash: a tenant whose result was not saved is simply called again (every
 * tenant action is safe to repeat; a repeated KEK rotation makes one more version).
 */

/** Calls a tenant's object for a job; the Durable Object binding behind it is the OperatorPlane's. */
export type TenantCaller = (
  tenantId: string,
  proof: Awaited<ReturnType<typeof signOperatorProof>>,
  action: TenantAction,
) => Promise<Outcome<unknown>>;

/** Tries per tenant before a retryable failure (KMS or D1 unavailable, object unreachable) counts as failed. */
const MAX_ATTEMPTS = 3;
const RETRYABLE = new Set(["kms_unavailable", "unavailable"]);

const JobRow = z.object({
  id: z.string(),
  kind: z.string(),
  params: z.string(),
  operator: z.string(),
  token_id: z.string(),
  state: z.enum(["running", "done"]),
  created_at: z.number().int(),
  finished_at: z.number().int().nullable(),
});
const TenantRow = z.object({
  tenant_id: z.string(),
  state: z.enum(["pending", "done", "failed"]),
  attempts: z.number().int(),
  result: z.string().nullable(),
  error: z.string().nullable(),
});

/** The tenant action a job sends each tenant. */
export function tenantAction(job: StartJob): TenantAction {
  switch (job.kind) {
    case "verify_audit":
      return { action: "verify_audit", ...(job.from ? { from: job.from } : {}), ...(job.to ? { to: job.to } : {}) };
    case "rotate_kek":
      return { action: "rotate_kek" };
    case "revoke_leases":
      return { action: "revoke_leases", reason: job.reason };
    case "impact":
      return { action: "impact", from: job.from, to: job.to };
    case "rewrap_root":
      return { action: "rewrap_root" };
    case "suspend":
    case "reactivate":
      return { action: job.kind, reason: job.reason };
  }
}

/**
 * Every tenant in the registry that still holds data (active or suspended), paged. A suspended
 * tenant is still verified, rotated and moved to a new root key: skipping it would strand its
 * KEKs when the previous root is removed.
 */
async function allLiveTenants(d1: D1Database): Promise<string[]> {
  const ids: string[] = [];
  for (const status of ["active", "suspended"] as const) {
    let after: string | undefined;
    for (;;) {
      const page = await listTenants(d1, { status, limit: 500, ...(after ? { after } : {}) });
      ids.push(...page.items.map((t) => t.id));
      if (page.next === null) break;
      after = page.next;
    }
  }
  return ids.sort();
}

/**
 * Creates a job over the selected tenants (every active one for "all"; a list must name registered
 * tenants only, else 404 naming the first unknown and nothing is created). Logged.
 */
export async function createJob(
  storage: DurableObjectStorage,
  d1: D1Database,
  actor: OperatorActor,
  job: StartJob,
  now: number,
) {
  let tenants: string[];
  if (job.tenants === "all") {
    tenants = await allLiveTenants(d1);
  } else {
    const known = await existingTenantIds(d1, job.tenants);
    const unknown = job.tenants.find((id) => !known.has(id));
    if (unknown !== undefined) throw new VaultError("not_found", `no tenant ${unknown} in the registry`);
    tenants = [...job.tenants];
  }
  const id = `job_${newTokenSecret().slice(0, 24)}`;
  const { tenants: _selection, ...params } = job;
  storage.transactionSync(() => {
    storage.sql.exec(
      "INSERT INTO jobs (id, kind, params, operator, token_id, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'running', ?, ?)",
      id,
      job.kind,
      JSON.stringify(params),
      actor.name,
      actor.tokenId,
      now,
      now,
    );
    for (const t of tenants)
      storage.sql.exec(
        "INSERT INTO job_tenants (job_id, tenant_id, state, updated_at) VALUES (?, ?, 'pending', ?)",
        id,
        t,
        now,
      );
    appendOperatorLog(
      storage.sql,
      {
        ...logActor(actor),
        action: `job.started`,
        details: {
          job_id: id,
          kind: job.kind,
          tenants: tenants.length,
          selection: job.tenants === "all" ? "all" : "list",
        },
      },
      now,
    );
  });
  return id;
}

/** A job's progress and one page of its per-tenant results. */
export function readJob(sql: SqlStorage, id: string, page: { after?: string; limit: number }) {
  const found = sql.exec("SELECT * FROM jobs WHERE id = ?", id).toArray();
  if (found.length === 0) throw new VaultError("not_found", "no such job");
  const job = JobRow.parse(found[0]);
  const counts = { total: 0, pending: 0, done: 0, failed: 0 };
  for (const r of sql.exec<{ state: "pending" | "done" | "failed"; n: number }>(
    "SELECT state, count(*) AS n FROM job_tenants WHERE job_id = ? GROUP BY state",
    id,
  )) {
    counts[r.state] = r.n;
    counts.total += r.n;
  }
  const rows = sql
    .exec(
      "SELECT tenant_id, state, attempts, result, error FROM job_tenants WHERE job_id = ? AND tenant_id > ? ORDER BY tenant_id LIMIT ?",
      id,
      page.after ?? "",
      page.limit + 1,
    )
    .toArray()
    .map((r) => TenantRow.parse(r));
  const items = rows.slice(0, page.limit);
  return {
    id: job.id,
    kind: job.kind,
    params: JSON.parse(job.params) as unknown,
    operator: operatorIdentity(job.operator),
    state: job.state,
    created_at: iso(job.created_at),
    finished_at: isoOrNull(job.finished_at),
    progress: counts,
    tenants: items.map((r) => ({
      tenant_id: r.tenant_id,
      state: r.state,
      attempts: r.attempts,
      result: r.result === null ? null : (JSON.parse(r.result) as unknown),
      error: r.error,
    })),
    next_after: rows.length > page.limit ? (items.at(-1)?.tenant_id ?? "") : null,
  };
}

/** Recent jobs, newest first. */
export function listJobs(sql: SqlStorage, limit: number) {
  return {
    items: sql
      .exec(
        "SELECT id, kind, operator, state, created_at, finished_at FROM jobs ORDER BY created_at DESC, id LIMIT ?",
        limit,
      )
      .toArray()
      .map((r) => {
        const j = JobRow.pick({
          id: true,
          kind: true,
          operator: true,
          state: true,
          created_at: true,
          finished_at: true,
        }).parse(r);
        return {
          id: j.id,
          kind: j.kind,
          operator: operatorIdentity(j.operator),
          state: j.state,
          created_at: iso(j.created_at),
          finished_at: isoOrNull(j.finished_at),
        };
      }),
  };
}

/** What one alarm run of the jobs did: whether work is left. */
export type BatchResult = "idle" | "more";

/** Test-only crash point: called after the tenant calls of a batch, before their results are saved. */
export type AfterCalls = () => Promise<void>;

/**
 * Runs one batch of the oldest running job: up to `concurrency` pending tenants, called at once.
 * Attempts are counted before the calls (a crash mid-batch still counts them), results after.
 */
export async function runBatch(opts: {
  storage: DurableObjectStorage;
  pepperHex: string;
  concurrency: number;
  now: () => number;
  call: TenantCaller;
  afterCalls: AfterCalls;
}): Promise<BatchResult> {
  const sql = opts.storage.sql;
  const jobs = sql.exec("SELECT * FROM jobs WHERE state = 'running' ORDER BY created_at, id LIMIT 1").toArray();
  if (jobs.length === 0) return "idle";
  const job = JobRow.parse(jobs[0]);
  const batch = sql
    .exec<{ tenant_id: string }>(
      "SELECT tenant_id FROM job_tenants WHERE job_id = ? AND state = 'pending' ORDER BY tenant_id LIMIT ?",
      job.id,
      opts.concurrency,
    )
    .toArray()
    .map((r) => r.tenant_id);
  if (batch.length === 0) return finishJob(opts.storage, job, opts.now());
  opts.storage.transactionSync(() => {
    for (const t of batch)
      sql.exec(
        "UPDATE job_tenants SET attempts = attempts + 1, updated_at = ? WHERE job_id = ? AND tenant_id = ?",
        opts.now(),
        job.id,
        t,
      );
  });
  const action = tenantAction({
    kind: job.kind as JobKind,
    ...(JSON.parse(job.params) as object),
    tenants: "all",
  } as StartJob);
  const outcomes = await Promise.all(
    batch.map(async (tenantId): Promise<Outcome<unknown>> => {
      try {
        const proof = await signOperatorProof(opts.pepperHex, {
          v: 1,
          operator: operatorIdentity(job.operator),
          token_id: job.token_id,
          tenant_id: tenantId,
          job_id: job.id,
          action: JSON.stringify(action),
          issued_at: opts.now(),
        });
        return await opts.call(tenantId, proof, action);
      } catch (error) {
        // The object was unreachable or reset: retried like an unavailable KMS.
        console.warn("operator job: tenant call failed", {
          job_id: job.id,
          tenant_id: tenantId,
          error: String(error).slice(0, 200),
        });
        return { ok: false, error: { code: "unavailable", message: "the tenant's object could not be reached" } };
      }
    }),
  );
  await opts.afterCalls();
  const now = opts.now();
  opts.storage.transactionSync(() => {
    batch.forEach((tenantId, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) {
        sql.exec(
          "UPDATE job_tenants SET state = 'done', result = ?, error = NULL, updated_at = ? WHERE job_id = ? AND tenant_id = ?",
          JSON.stringify(outcome.value ?? null),
          now,
          job.id,
          tenantId,
        );
        return;
      }
      const attempts = sql
        .exec<{ attempts: number }>(
          "SELECT attempts FROM job_tenants WHERE job_id = ? AND tenant_id = ?",
          job.id,
          tenantId,
        )
        .one().attempts;
      const retry = RETRYABLE.has(outcome.error.code) && attempts < MAX_ATTEMPTS;
      sql.exec(
        "UPDATE job_tenants SET state = ?, error = ?, updated_at = ? WHERE job_id = ? AND tenant_id = ?",
        retry ? "pending" : "failed",
        describe(outcome.error),
        now,
        job.id,
        tenantId,
      );
    });
  });
  return "more";
}

function describe(error: WireError): string {
  return `${error.code}: ${error.message}`;
}

/** Marks a job done and logs its totals. */
function finishJob(storage: DurableObjectStorage, job: z.output<typeof JobRow>, now: number): BatchResult {
  const counts = Object.fromEntries(
    storage.sql
      .exec<{ state: string; n: number }>(
        "SELECT state, count(*) AS n FROM job_tenants WHERE job_id = ? GROUP BY state",
        job.id,
      )
      .toArray()
      .map((r) => [r.state, r.n]),
  );
  storage.transactionSync(() => {
    storage.sql.exec("UPDATE jobs SET state = 'done', finished_at = ?, updated_at = ? WHERE id = ?", now, now, job.id);
    appendOperatorLog(
      storage.sql,
      {
        operator: operatorIdentity(job.operator),
        token_id: job.token_id,
        request_id: job.id,
        action: "job.finished",
        details: { job_id: job.id, kind: job.kind, done: counts.done ?? 0, failed: counts.failed ?? 0 },
      },
      now,
    );
  });
  // Another job may be waiting.
  return storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM jobs WHERE state = 'running'").one().n > 0
    ? "more"
    : "idle";
}
