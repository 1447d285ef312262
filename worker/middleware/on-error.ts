import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { AppEnv } from "../app-env";
import { VaultError, type ErrorBody } from "../contract/errors";

/** Writes the error body for a VaultError. */
export function errorResponse(c: Context<AppEnv>, error: VaultError): Response {
  const body: ErrorBody = {
    error: { code: error.code, message: error.message, request_id: c.get("requestId") ?? "none" },
  };
  c.header("cache-control", "no-store");
  return c.json(body, error.status);
}

/**
 * The one error handler. VaultErrors answer with their code; anything else is logged with the
 * request id and answered as a generic 500 that carries no detail.
 */
export function onError(error: Error, c: Context<AppEnv>): Response {
  if (error instanceof VaultError) return errorResponse(c, error);
  if (error instanceof HTTPException && error.status === 413) {
    return errorResponse(c, new VaultError("payload_too_large", "request body is too large"));
  }
  console.error("unhandled error", { request_id: c.get("requestId"), error: `${error.name}: ${error.message}` });
  return errorResponse(c, new VaultError("internal", "internal error"));
}

/** 404 for paths no route serves. */
export function notFound(c: Context<AppEnv>): Response {
  return errorResponse(c, new VaultError("not_found", `no route for ${c.req.method} ${new URL(c.req.url).pathname}`));
}
