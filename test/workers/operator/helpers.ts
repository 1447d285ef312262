import { env, runDurableObjectAlarm } from "cloudflare:test";
import { expect } from "vitest";
import { TEST_OPERATOR_TOKEN } from "../../test-env";
import { operatorPlane } from "../../../worker/middleware/operator-auth";
import { api, bootstrap, expectStatus } from "../helpers";

/** The root operator token of the test runtime (its SHA-256 is OPERATOR_TOKEN_HASH in test/test-env.ts). */
export const ROOT = TEST_OPERATOR_TOKEN;

/** A request to the operator plane as `token` (the root operator by default). */
export function op(method: string, path: string, body?: unknown, token: string | null = ROOT): Promise<Response> {
  return api(token, method, `/v1/operator${path}`, body);
}

/** Mints a named operator token with the root token. */
export async function namedOperator(
  name: string,
  expiresIn: string | number = "1h",
): Promise<{ token: string; id: string }> {
  return expectStatus<{ token: string; id: string }>(await op("POST", "/tokens", { name, expires_in: expiresIn }), 201);
}

/** A job as GET /v1/operator/jobs/:id shows it. */
export interface JobView {
  id: string;
  kind: string;
  state: "running" | "done";
  operator: string;
  progress: { total: number; pending: number; done: number; failed: number };
  tenants: {
    tenant_id: string;
    state: string;
    attempts: number;
    result: Record<string, unknown> | null;
    error: string | null;
  }[];
}

/** Starts a job as `token` and returns it. */
export async function startJob(body: Record<string, unknown>, token = ROOT): Promise<JobView> {
  return expectStatus<JobView>(await op("POST", "/jobs", body, token), 202);
}

/** The job's current view. */
export async function job(id: string): Promise<JobView> {
  return expectStatus<JobView>(await op("GET", `/jobs/${id}?limit=500`), 200);
}

/**
 * Runs the OperatorPlane's alarm until the job is done (the tests set OPERATOR_JOB_PAUSE_MS high,
 * so nothing runs behind them). Each run is one batch of at most OPERATOR_JOB_CONCURRENCY tenants.
 */
export async function runJob(id: string, maxRuns = 50): Promise<JobView> {
  for (let i = 0; i < maxRuns; i++) {
    const view = await job(id);
    if (view.state === "done") return view;
    await runDurableObjectAlarm(operatorPlane(env));
  }
  const view = await job(id);
  expect(view.state).toBe("done");
  return view;
}

/** Several fresh tenants, each with its admin token. */
export async function tenants(n: number, prefix = "fleet"): Promise<{ tenantId: string; adminToken: string }[]> {
  const out = [];
  for (let i = 0; i < n; i++) out.push(await bootstrap(`${prefix}-${i}`));
  return out;
}
