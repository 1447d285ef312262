import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../app-env";
import { loadConfig } from "../contract/config";
import { VaultError } from "../contract/errors";

/**
 * First middleware: gives the request its id and the parsed config, and sets the headers every
 * response carries. API responses may hold tokens or metadata, so none is cacheable.
 */
export const basics: MiddlewareHandler<AppEnv> = async (c, next) => {
  c.set("requestId", crypto.randomUUID());
  c.header("x-request-id", c.get("requestId"));
  c.header("cache-control", "no-store");
  c.header("x-content-type-options", "nosniff");
  c.header("x-frame-options", "DENY");
  c.header("referrer-policy", "no-referrer");
  c.set("config", loadConfig(c.env));
  if (c.get("config").ENVIRONMENT === "production") {
    c.header("strict-transport-security", "max-age=63072000; includeSubDomains");
    // Tokens and values must never cross the network in clear: refuse, do not redirect.
    if (new URL(c.req.url).protocol !== "https:")
      throw new VaultError("https_required", "use https; plain http is refused");
    // `cf.tlsVersion` describes the client's connection to Cloudflare's edge. A request without
    // `cf` did not come through the edge (a service binding, a Durable Object stub): refused too,
    // so the rule cannot be skipped by a path that carries no TLS facts.
    const tls = (c.req.raw as Request & { cf?: { tlsVersion?: unknown } }).cf?.tlsVersion;
    if (tls !== "TLSv1.3")
      throw new VaultError("tls_version_unsupported", "TLS 1.3 is required; upgrade the client's TLS library");
  }
  await next();
};
