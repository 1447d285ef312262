import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../app-env";
import { VaultError } from "../contract/errors";
import { sha256Hex } from "../core/crypto/sha256";

/** The part of the Workers rate-limiting binding this middleware uses. */
export interface Limiter {
  limit(options: { key: string }): Promise<{ success: boolean }>;
}

/** The limiters and their windows (seconds), as bound in wrangler.toml. */
export interface Limiters {
  token: Limiter;
  ip: Limiter;
  periodSeconds: number;
}

async function tokenKey(authorization: string): Promise<string> {
  // A digest, so the raw token is never a limiter key (keys may surface in platform tooling).
  return `tok:${(await sha256Hex(authorization)).slice(0, 24)}`;
}

/**
 * Waits for limiter verdicts: 429 with Retry-After if any says no, 503 if any fails (fail closed:
 * a broken limiter never lets traffic through unlimited).
 */
async function enforce(
  c: Context<AppEnv>,
  checks: Promise<{ success: boolean }>[],
  periodSeconds: number,
): Promise<void> {
  let outcomes: { success: boolean }[];
  try {
    outcomes = await Promise.all(checks);
  } catch (error) {
    console.error("rate limiter failed; refusing the request", {
      request_id: c.get("requestId"),
      error: String(error),
    });
    throw new VaultError("unavailable", "rate limiter unavailable; retry later");
  }
  if (outcomes.some((o) => !o.success)) {
    c.header("retry-after", String(periodSeconds));
    throw new VaultError("rate_limited", `too many requests; retry after ${periodSeconds} seconds`);
  }
}

/**
 * The per-tenant limit of the unauthenticated CI entry points: their callers prove nothing before
 * the tenant's Durable Object does the work, so neither a token nor an IP can key it. Keyed by the
 * tenant id as sent (known or not, so the limit reveals nothing); fails closed. Skipped only when
 * RATE_LIMITS=off (benchmarks).
 */
export async function limitCiTenant(c: Context<AppEnv>, tenantId: string): Promise<void> {
  if (c.get("config").RATE_LIMITS === "off") return;
  await enforce(c, [Promise.resolve().then(() => c.env.CI_RATE_LIMITER.limit({ key: `ci:${tenantId}` }))], 60);
}

/**
 * Per-token and per-client-IP limits with 429 and Retry-After. Fails closed: if a limiter
 * errors, the request is refused with 503 rather than let through unlimited. The client IP is
 * Cloudflare's CF-Connecting-IP; requests without it (local development) are limited per token only.
 */
export function rateLimit(pick: (env: Env) => Limiters | null): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const limiters = pick(c.env);
    if (!limiters) return next();
    const checks: Promise<{ success: boolean }>[] = [];
    const ip = c.req.header("cf-connecting-ip");
    if (ip) checks.push(limiters.ip.limit({ key: `ip:${ip}` }));
    const authorization = c.req.header("authorization");
    if (authorization) checks.push(tokenKey(authorization).then((key) => limiters.token.limit({ key })));
    await enforce(c, checks, limiters.periodSeconds);
    await next();
  };
}
