import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { VaultError } from "../contract/errors";
import { timingSafeEqual } from "../core/crypto/primitives";
import { sha256 } from "../core/crypto/sha256";
import { newTenantId } from "../core/ids";
import { unwrapOutcome } from "../contract/rpc";
import { BootstrapResultSchema, BootstrapSchema } from "../contract/schemas/tenants";
import { readInput, respond, vaultStub, type RouteDef } from "./define";

const tag = "system";
const Health = z.object({ ok: z.literal(true) });
const Ready = z.object({ ok: z.literal(true), d1: z.literal("ok") });

const health: RouteDef = { method: "get", path: "/v1/health", tag, summary: "Liveness", operation: null, response: Health, status: 200 };
const ready: RouteDef = { method: "get", path: "/v1/ready", tag, summary: "Readiness: configuration valid and D1 reachable", operation: null, response: Ready, status: 200 };
const bootstrap: RouteDef = {
  method: "post", path: "/v1/bootstrap", tag, operation: null, status: 201,
  summary: "Create a tenant and its first admin token; needs the X-Bootstrap-Secret header",
  body: BootstrapSchema, response: BootstrapResultSchema,
};

/** Public routes' definitions, for the OpenAPI document. */
export const systemRoutes: RouteDef[] = [health, ready, bootstrap];

/** Compares the presented bootstrap secret in constant time (digests first, so lengths match). */
async function bootstrapSecretMatches(presented: string | undefined, expected: string): Promise<boolean> {
  if (!presented) return false;
  return timingSafeEqual(await sha256(presented), await sha256(expected));
}

/** Health, readiness and bootstrap. */
export const system = new Hono<AppEnv>()
  .get(health.path, (c) => respond(c, health, { ok: true }))
  .get(ready.path, async (c) => {
    try {
      await c.env.DB.prepare("SELECT 1").first();
    } catch {
      throw new VaultError("unavailable", "database unreachable");
    }
    return respond(c, ready, { ok: true, d1: "ok" });
  })
  .post(bootstrap.path, async (c) => {
    if (!(await bootstrapSecretMatches(c.req.header("x-bootstrap-secret"), c.get("config").BOOTSTRAP_SECRET))) {
      throw new VaultError("unauthorized", "send the bootstrap secret as X-Bootstrap-Secret");
    }
    const input = await readInput(c, bootstrap);
    const tenantId = newTenantId();
    const result = unwrapOutcome(await vaultStub(c.env, tenantId).bootstrap(tenantId, c.get("requestId"), input.body));
    return respond(c, bootstrap, result);
  });
