import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../app-env";
import { VaultError } from "../errors";

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
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(authorization)));
  return `tok:${Array.from(digest.subarray(0, 12), (b) => b.toString(16).padStart(2, "0")).join("")}`;
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
    let outcomes: { success: boolean }[];
    try {
      outcomes = await Promise.all(checks);
    } catch (error) {
      console.error("rate limiter failed; refusing the request", { request_id: c.get("requestId"), error: String(error) });
      throw new VaultError("unavailable", "rate limiter unavailable; retry later");
    }
    if (outcomes.some((o) => !o.success)) {
      c.header("retry-after", String(limiters.periodSeconds));
      throw new VaultError("rate_limited", `too many requests; retry after ${limiters.periodSeconds} seconds`);
    }
    await next();
  };
}
