import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { VaultError } from "../contract/errors";
import { timingSafeEqual } from "../core/crypto/primitives";
import { sha256 } from "../core/crypto/sha256";
import { newTenantId } from "../core/ids";
import { unwrapOutcome } from "../contract/rpc";
import { OPERATION_TABLE } from "../contract/operations";
import { readPublicInput, respond, vaultStub } from "./define";

const health = OPERATION_TABLE["system.health"];
const ready = OPERATION_TABLE["system.ready"];
const bootstrap = OPERATION_TABLE["system.bootstrap"];

/** Compares the presented bootstrap secret in constant time (digests first, so lengths match). */
async function bootstrapSecretMatches(presented: string | undefined, expected: string): Promise<boolean> {
  if (!presented) return false;
  return timingSafeEqual(await sha256(presented), await sha256(expected));
}

/** Health, readiness and bootstrap: public, so hand-written (no token, no tenant to route by). */
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
    const { raw } = await readPublicInput(c, bootstrap);
    const tenantId = newTenantId();
    const result = unwrapOutcome(await vaultStub(c.env, tenantId).bootstrap(tenantId, c.get("requestId"), raw.body));
    return respond(c, bootstrap, result);
  });
