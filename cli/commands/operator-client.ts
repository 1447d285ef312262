/**
 * The CLI's operator-plane client (issue 13 §3): the operator login, kept apart from tenant logins
 * (`operator.json`, mode 0600), and JSON requests to `/v1/operator/*`. The SDK has no operator
 * surface on purpose: operator tokens belong to the few people who run the deployment.
 */

import { operatorConfigPath, readConfig, type EnvVars } from "../config";
import { CliError } from "../context";

/** The operator URL and token in use: `GHOSTVAULT_OPERATOR_URL`/`_TOKEN` first, then the stored login. */
export async function operatorLogin(env: EnvVars = process.env): Promise<{ url: string; token: string }> {
  const stored =
    env.GHOSTVAULT_OPERATOR_URL && env.GHOSTVAULT_OPERATOR_TOKEN
      ? undefined
      : await readConfig(env, operatorConfigPath(env));
  const url = env.GHOSTVAULT_OPERATOR_URL || stored?.url;
  const token = env.GHOSTVAULT_OPERATOR_TOKEN || stored?.token;
  if (!url || !token)
    throw new CliError(
      "not logged in as an operator: run `ghostvault operator login <url>` or set GHOSTVAULT_OPERATOR_URL and GHOSTVAULT_OPERATOR_TOKEN",
      2,
    );
  return { url, token };
}

/**
 * One request to the operator plane. A failure becomes a CliError carrying the server's code and
 * message (which never holds a token or a value); a network failure names the URL.
 */
export async function operatorRequest<T>(
  login: { url: string; token: string },
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const headers: Record<string, string> = { authorization: `Bearer ${login.token}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(new URL(`/v1/operator${path}`, login.url), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    throw new CliError(
      `${method} /v1/operator${path}: cannot reach ${login.url}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    throw new CliError(
      `${method} /v1/operator${path}: the server answered ${res.status} with something that is not JSON`,
    );
  }
  if (!res.ok) {
    const error = (json as { error?: { code?: unknown; message?: unknown } } | null)?.error;
    const code = typeof error?.code === "string" ? error.code : `http_${res.status}`;
    throw new CliError(
      `${typeof error?.message === "string" ? error.message : `HTTP ${res.status}`} (${code})`,
      1,
      code,
    );
  }
  return json as T;
}

/** A job as the operator API shows it. */
export interface OperatorJob {
  id: string;
  kind: string;
  state: "running" | "done";
  operator: string;
  created_at: string;
  finished_at: string | null;
  progress: { total: number; pending: number; done: number; failed: number };
  tenants: { tenant_id: string; state: string; attempts: number; result: unknown; error: string | null }[];
  next_after: string | null;
}

/** Polls a job until it is done (every `intervalMs`), calling `onProgress` when its progress changes. */
export async function waitForJob(
  login: { url: string; token: string },
  id: string,
  onProgress: (job: OperatorJob) => void,
  intervalMs = 500,
): Promise<OperatorJob> {
  let last = "";
  for (;;) {
    const job = await operatorRequest<OperatorJob>(login, "GET", `/jobs/${id}?limit=500`);
    const seen = JSON.stringify(job.progress);
    if (seen !== last) onProgress(job);
    last = seen;
    if (job.state === "done") return job;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
