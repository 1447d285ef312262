import { Hono, type Context } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import type { Operation } from "../contract/roles";
import { parseToken } from "../core/auth/tokens";
import { describeZodError, VaultError } from "../contract/errors";
import { findIllFormed, illFormedMessage } from "../core/well-formed";
import { IdempotencyKeySchema, unwrapOutcome, type Call, type Outcome } from "../contract/rpc";
import { isJsonMediaType } from "../contract/media-type";
import type { TenantVault } from "../../durable-objects/tenant-vault";

/** A route as data: enough to validate a request, call the tenant's vault and describe it in OpenAPI. */
export interface RouteDef {
  method: "get" | "post" | "put" | "patch" | "delete";
  /** Hono path, e.g. `/v1/credentials/:ref`. */
  path: string;
  summary: string;
  tag: string;
  /** The authenticated operation (its least role is in OPERATIONS), or null for a public route. */
  operation: Operation | null;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** The success body, or null for 204. */
  response: z.ZodType | null;
  status: 200 | 201 | 202 | 204;
  /** A second success answer: 202 with this body when `is(value)` (a lease held for approval). */
  accepted?: { status: 202; response: z.ZodType; is: (value: unknown) => boolean };
}

/** An authenticated route: its definition plus the RPC that serves it. */
export interface VaultRoute extends RouteDef {
  operation: Operation;
  rpc: (vault: DurableObjectStub<TenantVault>, call: Call<unknown>) => Promise<Outcome<unknown>>;
}

/** Validated parts of a request, in their raw (pre-transform) JSON form for the RPC. */
interface RawInput {
  params?: Record<string, string>;
  query?: Record<string, string>;
  body?: unknown;
  /** The Idempotency-Key header of a POST, checked for shape. */
  idempotencyKey?: string;
}

function check(schema: z.ZodType | undefined, value: unknown, where: string): void {
  if (!schema) return;
  // Before the schema: an ill-formed string must never reach storage or the audit canonicaliser.
  const illFormed = findIllFormed(value, where);
  if (illFormed !== null) throw new VaultError("validation_failed", illFormedMessage(where, illFormed));
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new VaultError("validation_failed", describeZodError(parsed.error, where));
}

/**
 * Reads and validates params, query and JSON body. Bad input of any kind is a 4xx here, never a 500;
 * every string in them, member names included, must be well-formed Unicode.
 */
export async function readInput(c: Context<AppEnv>, def: RouteDef): Promise<RawInput> {
  const input: RawInput = {};
  // Only an authenticated POST creates or acts (PUT, PATCH and DELETE here are idempotent by
  // themselves; public and CI routes have no token to scope a key to, and ignore it). A bad key is
  // refused before anything runs rather than ignored, so a client never believes it is protected.
  const key = def.method === "post" && def.operation !== null ? c.req.header("idempotency-key") : undefined;
  if (key !== undefined) {
    const parsed = IdempotencyKeySchema.safeParse(key);
    if (!parsed.success) throw new VaultError("validation_failed", "Idempotency-Key header: must be 1 to 128 printable ASCII characters");
    input.idempotencyKey = parsed.data;
  }
  // Copied into plain objects: Hono's may have a null prototype, which RPC cannot serialise.
  if (def.params) check(def.params, (input.params = { ...(c.req.param() as Record<string, string>) }), "path");
  if (def.query) check(def.query, (input.query = { ...c.req.query() }), "query");
  if (def.body) {
    if (!isJsonMediaType(c.req.header("content-type"))) throw new VaultError("unsupported_media_type", "send the body as application/json");
    const text = await c.req.text();
    try {
      input.body = JSON.parse(text);
    } catch {
      throw new VaultError("invalid_json", "request body is not valid JSON");
    }
    check(def.body, input.body, "body");
  }
  return input;
}

/** The RPC input: params merged with the body (or the query) under `body`, or the body, or the query. */
function callInput(input: RawInput): unknown {
  if (input.params && input.body !== undefined) return { ...input.params, body: input.body };
  if (input.params && input.query) return { ...input.params, body: input.query };
  return input.params ?? input.body ?? input.query ?? null;
}

/** The bearer token of a request, checked only for shape; the tenant's vault decides if it is valid. */
export function bearer(c: Context<AppEnv>): { raw: string; tenantId: string } {
  const header = c.req.header("authorization") ?? "";
  const match = /^Bearer ([\x21-\x7e]+)$/.exec(header);
  if (!match) throw new VaultError("unauthorized", "send an API token as Authorization: Bearer <token>");
  const token = parseToken(match[1]!);
  if (!token) throw new VaultError("unauthorized", "invalid, expired or revoked token");
  return token;
}

/** The tenant's vault: one Durable Object per tenant, addressed by the tenant id in the token. */
export function vaultStub(env: Env, tenantId: string): DurableObjectStub<TenantVault> {
  return env.TENANT_VAULT.get(env.TENANT_VAULT.idFromName(tenantId));
}

/** Sends a handler's result with the route's status. */
export function respond(c: Context<AppEnv>, def: RouteDef, value: unknown): Response {
  if (def.status === 204) return c.body(null, 204);
  if (def.accepted?.is(value)) return c.json(value as object, def.accepted.status);
  return c.json(value as object, def.status);
}

/** The RPC call of an authenticated request: its token, request id and client IP (for refusal limits). */
export function vaultCall<I>(c: Context<AppEnv>, token: { raw: string }, input: I, idempotencyKey?: string): Call<I> {
  const call: Call<I> = { token: token.raw, requestId: c.get("requestId"), input, ip: c.req.header("cf-connecting-ip") ?? null };
  if (idempotencyKey !== undefined) call.idempotencyKey = idempotencyKey;
  return call;
}

/**
 * readInput for an authenticated route, every one of them (hand-written ones too): bad input
 * from someone who may not call the route learns 401/403, not the schema. The vault is asked only
 * when the input is bad, so a good request still costs one RPC.
 */
export async function readInputAsCaller(c: Context<AppEnv>, def: RouteDef & { operation: Operation }, vault: DurableObjectStub<TenantVault>, token: { raw: string }): Promise<RawInput> {
  try {
    return await readInput(c, def);
  } catch (error) {
    if (error instanceof VaultError && error.status < 500) unwrapOutcome(await vault.checkAccess(vaultCall(c, token, null), def.operation));
    throw error;
  }
}

/** Builds a Hono router from authenticated route definitions. */
export function vaultRouter(routes: readonly VaultRoute[]): Hono<AppEnv> {
  const router = new Hono<AppEnv>();
  for (const def of routes) {
    router.on(def.method.toUpperCase(), def.path, async (c) => {
      const token = bearer(c);
      const vault = vaultStub(c.env, token.tenantId);
      const input = await readInputAsCaller(c, def, vault, token);
      const value = unwrapOutcome(await def.rpc(vault, vaultCall(c, token, callInput(input), input.idempotencyKey)));
      return respond(c, def, value);
    });
  }
  return router;
}
