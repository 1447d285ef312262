import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { VaultError } from "../errors";
import { ID_PATTERNS } from "../ids";
import { vaultStub } from "./define";

/**
 * Benchmark baselines (bench/), measured in the same build and run as the lease path so results
 * are ratios, not absolute numbers on a noisy machine. They exist only when BENCH_ENABLED is
 * "true", which production configuration refuses; otherwise every path here is a plain 404.
 */
export const bench = new Hono<AppEnv>();

bench.use("/v1/bench/*", async (c, next) => {
  if (!c.get("config").BENCH_ENABLED) throw new VaultError("not_found", `no route for ${c.req.method} ${new URL(c.req.url).pathname}`);
  await next();
});

function tenantParam(raw: string): string {
  if (!ID_PATTERNS.tenant.test(raw)) throw new VaultError("validation_failed", "tenant must be a tenant id");
  return raw;
}

// echo: a bare Hono route.
bench.get("/v1/bench/echo", (c) => c.json({ ok: true }));

// do-insert: Worker → TenantVault RPC → one SQLite insert.
bench.post("/v1/bench/do-insert/:tenant", async (c) => c.json({ rows: await vaultStub(c.env, tenantParam(c.req.param("tenant"))).benchInsert() }));

// d1-read: one D1 primary-key read.
bench.get("/v1/bench/d1-read/:tenant", async (c) => {
  const row = await c.env.DB.prepare("SELECT id FROM tenants WHERE id = ?").bind(tenantParam(c.req.param("tenant"))).first();
  return c.json({ found: row !== null });
});
