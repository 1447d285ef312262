// Shared setup for scenarios: tenants, credentials, request templates, goals.

import { agent, json, median } from "../lib/load.mjs";

/** A setup agent shared by scenarios (few sockets: setup is sequential or lightly parallel). */
export const setupAgent = agent(8);

/** Bootstraps a tenant with one credential "bench"; returns { tenant, token }. */
export async function newTenant(ctx, name, { credential = true } = {}) {
  const b = await json(ctx.url, setupAgent, "POST", "/v1/bootstrap", {
    headers: { "x-bootstrap-secret": ctx.vault.bootstrapSecret },
    body: { tenant_name: name, admin_identity: `user:bench@${name}` },
  });
  const t = { tenant: b.tenant.id, token: b.admin_token.token };
  if (credential) await createCredential(ctx, t, "bench");
  return t;
}

/** Creates a credential with a 40-character value, 1 h default and 24 h maximum TTL. */
export function createCredential(ctx, t, name) {
  return json(ctx.url, setupAgent, "POST", "/v1/credentials", {
    token: t.token,
    body: { name, value: "v".repeat(40), default_ttl: "1h", max_ttl: "24h" },
  });
}

/** Runs `fn` over `items` with at most `limit` at a time. */
export async function parallel(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    }),
  );
  return out;
}

const auth = (token) => ({ authorization: `Bearer ${token}`, "content-type": "application/json" });

/** POST /v1/leases for the "bench" credential, 1 h TTL (leases outlive the run, so nothing expires meanwhile). */
export function leaseTarget(token, credential = "bench") {
  return {
    method: "POST",
    path: "/v1/leases",
    headers: auth(token),
    body: JSON.stringify({ credential, ttl: "1h" }),
    expect: 201,
  };
}

/** The three baselines of the issue, for one tenant. */
export function baselineTargets(tenant) {
  return {
    echo: { method: "GET", path: "/v1/bench/echo" },
    "do-insert": { method: "POST", path: `/v1/bench/do-insert/${tenant}` },
    "d1-read": { method: "GET", path: `/v1/bench/d1-read/${tenant}` },
  };
}

/**
 * Seeds `count` active leases of "bench" with one deadline, in chunks (one RPC each). A chunk
 * that fails because workerd restarted under it (wrangler answers 503 "restarted mid-request";
 * seen on this shared machine) is retried once; its committed part is then counted twice, so
 * `ctx.seedRetries` is reported beside the results.
 */
export async function seed(ctx, t, count, expiresAt, chunk = 5_000) {
  const t0 = performance.now();
  for (let done = 0; done < count; done += chunk) {
    const n = Math.min(chunk, count - done);
    const body = { credential: "bench", count: n, expiresAt };
    try {
      await json(ctx.url, setupAgent, "POST", "/v1/bench/seed-leases", { token: t.token, body });
    } catch (error) {
      if (!/ 503: .*restarted/.test(error.message)) throw error;
      ctx.seedRetries = (ctx.seedRetries ?? 0) + 1;
      ctx.log(`  workerd restarted during a seed chunk; retrying it once`);
      await json(ctx.url, setupAgent, "POST", "/v1/bench/seed-leases", { token: t.token, body });
    }
  }
  return (performance.now() - t0) / 1000;
}

/** Calls the KMS emulator's test controls through the bench route. */
export function kmsControl(ctx, method, op, { tenantId, body } = {}) {
  const q = tenantId ? `?tenantId=${tenantId}` : "";
  return json(ctx.url, setupAgent, method, `/v1/bench/kms-control/${op}${q}`, {
    headers: { "x-emulator-control": ctx.vault.emulatorSecret },
    body,
  });
}

/** A goal beside a result: `op` is "≥" or "≤". */
export function goal(value, op, target) {
  const met = value === null ? null : op === "≥" ? value >= target : value <= target;
  return { value: value === null ? null : round(value, 3), goal: `${op} ${target}`, met };
}

/** Median over runs of one numeric field. */
export function med(runs, pick) {
  return median(runs.map(pick));
}

export function round(x, digits = 2) {
  if (x === null || x === undefined || !Number.isFinite(x)) return null;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Keeps the summary fields of a load result (drops raw arrays). */
export function brief(r) {
  const { due, lat, ...rest } = r;
  for (const k of Object.keys(rest)) if (typeof rest[k] === "number") rest[k] = round(rest[k], 3);
  return rest;
}
