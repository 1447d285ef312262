import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../app-env";
import { VaultError } from "../contract/errors";
import { unwrapOutcome } from "../contract/rpc";
import { isRootOperatorToken, parseOperatorToken, type OperatorActor } from "../core/operator/tokens";
import type { OperatorPlane } from "../../durable-objects/operator/operator-plane";

/** The Hono environment of `/v1/operator/*`: the app's, plus the authenticated operator. */
export type OperatorEnv = { Bindings: Env; Variables: AppEnv["Variables"] & { operator: OperatorActor } };

/** The name of the one OperatorPlane object of a deployment. */
const OPERATOR_PLANE_NAME = "operator-plane";

/** The one OperatorPlane object. */
export function operatorPlane(env: Env): DurableObjectStub<OperatorPlane> {
  return env.OPERATOR_PLANE.get(env.OPERATOR_PLANE.idFromName(OPERATOR_PLANE_NAME));
}

/** The same answer for every failure: a wrong, unknown, expired or revoked token, or a disabled plane. */
function refused(): VaultError {
  return new VaultError("unauthorized", "send an operator token as Authorization: Bearer <token>");
}

/**
 * Failed operator authentications per client IP per minute (OPERATOR_AUTH_LIMITER, 10 a minute):
 * past it the answer is 429, so a token cannot be guessed at speed (it has 256 random bits anyway)
 * and a probe shows up. Only failures count, so an operator is never locked out by their own work.
 * Fails closed like every limiter here.
 */
async function countFailure(c: Context<OperatorEnv>): Promise<void> {
  // Cloudflare's edge always sets CF-Connecting-IP; a request without it (local development, tests)
  // has no client to key, as in the general limiter (rate-limit.ts).
  const ip = c.req.header("cf-connecting-ip");
  if (c.get("config").RATE_LIMITS === "off" || ip === undefined) return;
  let verdict: { success: boolean };
  try {
    verdict = await c.env.OPERATOR_AUTH_LIMITER.limit({ key: `operator-auth:${ip}` });
  } catch {
    throw new VaultError("unavailable", "rate limiter unavailable; retry later");
  }
  if (!verdict.success) {
    c.header("retry-after", "60");
    throw new VaultError("rate_limited", "too many failed operator authentications; retry after 60 seconds");
  }
}

/**
 * Authenticates an operator (issue 13 §3), separately from tenants: the root token by its SHA-256
 * against the secret OPERATOR_TOKEN_HASH, a named token by the OperatorPlane object. A tenant token
 * is never an operator token (different grammar), and an operator token is never a tenant token
 * (`parseToken` refuses `gvop_…`). Sets `operator` (`operator:<name>` in every record) on success.
 */
export const operatorAuth: MiddlewareHandler<OperatorEnv> = async (c, next) => {
  const config = c.get("config");
  const match = /^Bearer ([\x21-\x7e]{1,256})$/.exec(c.req.header("authorization") ?? "");
  const token = match ? parseOperatorToken(match[1]!) : null;
  let found: { name: string; tokenId: string } | null = null;
  if (token && config.OPERATOR_PLANE_ENABLED && config.OPERATOR_TOKEN_HASH !== undefined) {
    if (token.id === "root") {
      if (await isRootOperatorToken(token.raw, config.OPERATOR_TOKEN_HASH)) found = { name: "root", tokenId: "root" };
    } else {
      const outcome = await operatorPlane(c.env).authenticate(token.raw);
      // Only a refusal is a failed authentication; the object being unavailable is a 503.
      if (outcome.ok) found = outcome.value;
      else if (outcome.error.code !== "unauthorized") unwrapOutcome(outcome);
    }
  }
  if (!found) {
    await countFailure(c);
    throw refused();
  }
  c.set("operator", { ...found, requestId: c.get("requestId") });
  await next();
};
