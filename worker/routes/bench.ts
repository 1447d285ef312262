import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { describeZodError, VaultError } from "../contract/errors";
import { ID_PATTERNS } from "../core/ids";
import { unwrapOutcome } from "../contract/rpc";
import { bearer, vaultStub } from "./define";

/**
 * Benchmark baselines (bench/), measured in the same build and run as the lease path so results
 * are ratios, not absolute numbers on a noisy machine. They exist only when TEST_HOOKS is
 * "true", which production configuration refuses; otherwise every path here is a plain 404.
 * Not in the operation table (worker/contract/operations): they are no part of the API, so they
 * have no role, no OpenAPI entry and no SDK call, and most never reach a tenant's vault.
 */
export const bench = new Hono<AppEnv>();

bench.use("/v1/bench/*", async (c, next) => {
  if (!c.get("config").TEST_HOOKS)
    throw new VaultError("not_found", `no route for ${c.req.method} ${new URL(c.req.url).pathname}`);
  await next();
});

function tenantParam(raw: string): string {
  if (!ID_PATTERNS.tenant.test(raw)) throw new VaultError("validation_failed", "tenant must be a tenant id");
  return raw;
}

// echo: a bare Hono route.
bench.get("/v1/bench/echo", (c) => c.json({ ok: true }));

// do-insert: Worker → TenantVault RPC → one SQLite insert.
bench.post("/v1/bench/do-insert/:tenant", async (c) =>
  c.json({ rows: await vaultStub(c.env, tenantParam(c.req.param("tenant"))).benchInsert() }),
);

// d1-read: one D1 primary-key read.
bench.get("/v1/bench/d1-read/:tenant", async (c) => {
  const row = await c.env.DB.prepare("SELECT id FROM tenants WHERE id = ?")
    .bind(tenantParam(c.req.param("tenant")))
    .first();
  return c.json({ found: row !== null });
});

// passthrough: the Worker fetches a loopback upstream (the bench process's own HTTP server on
// 127.0.0.1) and returns its answer as is: the baseline the credential proxy's overhead is
// measured against. Host fixed to 127.0.0.1, only the port varies, GET only, no headers passed on.
bench.get("/v1/bench/passthrough/:port", async (c) => {
  const port = Number(c.req.param("port"));
  if (!Number.isInteger(port) || port < 1 || port > 65_535)
    throw new VaultError("validation_failed", "port must be an integer from 1 to 65535");
  const res = await fetch(`http://127.0.0.1:${port}/v1/ping`, { redirect: "manual" });
  return new Response(res.body, {
    status: res.status,
    headers: { "content-type": res.headers.get("content-type") ?? "application/octet-stream" },
  });
});

// merkle-skip / seed-audit (bench/merkle.mjs): the lease baseline without the Merkle update, and a
// large audit tree seeded fast for the inclusion-proof scenario. Both name a bench tenant.
bench.post("/v1/bench/merkle-skip/:tenant", async (c) => {
  const body = z.strictObject({ skip: z.boolean() }).safeParse(await c.req.json().catch(() => undefined));
  if (!body.success) throw new VaultError("validation_failed", describeZodError(body.error, "body"));
  await vaultStub(c.env, tenantParam(c.req.param("tenant"))).benchMerkleSkip(body.data.skip);
  return c.json({ skip: body.data.skip });
});

bench.post("/v1/bench/seed-audit/:tenant", async (c) => {
  const body = z
    .strictObject({ count: z.number().int().min(1).max(200_000) })
    .safeParse(await c.req.json().catch(() => undefined));
  if (!body.success) throw new VaultError("validation_failed", describeZodError(body.error, "body"));
  return c.json(await vaultStub(c.env, tenantParam(c.req.param("tenant"))).benchSeedAudit(body.data.count));
});

// audit-scan (bench audit verification, issue 16 goal 3): the floor of GET /v1/audit/verify, the
// same audit rows read from the object's SQLite and SHA-256'd, nothing else checked.
bench.get("/v1/bench/audit-scan/:tenant", async (c) => {
  const q = z
    .strictObject({ from_seq: z.coerce.number().int().min(1), to_seq: z.coerce.number().int().min(1) })
    .refine((x) => x.to_seq >= x.from_seq, { message: "to_seq must not be below from_seq", path: ["to_seq"] })
    .safeParse(c.req.query());
  if (!q.success) throw new VaultError("validation_failed", describeZodError(q.error, "query"));
  return c.json(
    await vaultStub(c.env, tenantParam(c.req.param("tenant"))).benchAuditScan(q.data.from_seq, q.data.to_seq),
  );
});

/** Body of POST /v1/bench/seed-leases: as the TenantVault's `seedLeases` RPC takes it. */
const SeedBody = z.strictObject({
  credential: z.string().min(1),
  count: z.number().int().min(1).max(1_000_000),
  expiresAt: z.number().int(),
});

// Bulk lease seeding for the lease-count scaling and expiry-storm scenarios. The tenant comes from
// the bearer token, which the tenant's vault authenticates (admin only) as for any other call.
bench.post("/v1/bench/seed-leases", async (c) => {
  const token = bearer(c);
  const parsed = SeedBody.safeParse(await c.req.json().catch(() => undefined));
  if (!parsed.success) throw new VaultError("validation_failed", describeZodError(parsed.error, "body"));
  const call = { token: token.raw, requestId: c.get("requestId"), input: parsed.data };
  return c.json(unwrapOutcome(await vaultStub(c.env, token.tenantId).seedLeases(call)));
});

// The KMS emulator's test controls (faults, per-tenant call stats), which wrangler dev only
// exposes through the vault's KMS_EMULATOR service binding. The emulator itself checks the
// x-emulator-control header against its secret; this route only passes the request on.
bench.on(["GET", "POST"], "/v1/bench/kms-control/:op{faults|stats|reset}", async (c) => {
  const url = new URL(c.req.url);
  const headers = new Headers({ "x-emulator-control": c.req.header("x-emulator-control") ?? "" });
  if (c.req.method === "POST") headers.set("content-type", "application/json");
  // The binding exists only in development (production refuses it): absent means no emulator to control.
  if (!c.env.KMS_EMULATOR) throw new VaultError("not_found", "no KMS emulator is bound");
  const res = await c.env.KMS_EMULATOR.fetch(`http://kms-emulator.local/__control/${c.req.param("op")}${url.search}`, {
    method: c.req.method,
    headers,
    body: c.req.method === "POST" ? await c.req.text() : undefined,
  });
  return new Response(res.body, { status: res.status, headers: { "content-type": "application/json" } });
});
