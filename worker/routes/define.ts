import { Hono, type Context } from "hono";
import type { AppEnv } from "../app-env";
import { parseToken } from "../core/auth/tokens";
import { VaultError } from "../contract/errors";
import { unwrapOutcome, type Call } from "../contract/rpc";
import { isJsonMediaType } from "../contract/media-type";
import {
  OPERATION_TABLE,
  parseOperationInput,
  type Operation,
  type OperationInput,
  type OperationSpec,
  type RawInput,
} from "../contract/operations";
import type { TenantVault } from "../../durable-objects/tenant-vault";

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

/** Sends a handler's result with the operation's status. */
export function respond(c: Context<AppEnv>, def: OperationSpec, value: unknown): Response {
  if (def.status === 204) return c.body(null, 204);
  if (def.accepted?.is(value)) return c.json(value as object, def.accepted.status);
  return c.json(value as object, def.status);
}

/**
 * The parts of an authenticated request as received, for the vault to validate after it has
 * authenticated and authorised the caller (worker/contract/operations/spec.ts). Only what cannot
 * cross RPC as is gets read here: the body's JSON. A body that cannot be read travels as its
 * error, so it too is reported only to a caller who may call the operation.
 */
async function readRaw(c: Context<AppEnv>, def: OperationSpec): Promise<RawInput> {
  // Copied into plain objects: Hono's may have a null prototype, which RPC cannot serialise.
  const raw: RawInput = {};
  if (def.params) raw.params = { ...(c.req.param() as Record<string, string>) };
  if (def.query) raw.query = { ...c.req.query() };
  if (def.body) {
    if (!isJsonMediaType(c.req.header("content-type"))) raw.bodyError = "unsupported_media_type";
    else {
      const text = await c.req.text();
      try {
        raw.body = JSON.parse(text);
      } catch {
        raw.bodyError = "invalid_json";
      }
    }
  }
  return raw;
}

/** The RPC call of an authenticated request: its token, request id, client IP (for refusal limits) and input. */
export function vaultCall<I>(c: Context<AppEnv>, token: { raw: string }, input: I, idempotencyKey?: string): Call<I> {
  const call: Call<I> = {
    token: token.raw,
    requestId: c.get("requestId"),
    input,
    ip: c.req.header("cf-connecting-ip") ?? null,
  };
  if (idempotencyKey !== undefined) call.idempotencyKey = idempotencyKey;
  return call;
}

/**
 * One authenticated request, end to end except the answer: token shape, the request's parts, one
 * RPC `op(name, call)`. `extra` adds to the raw input (the audit export's page cursor).
 */
export async function callOperation(
  c: Context<AppEnv>,
  name: Operation,
  extra: Partial<RawInput> = {},
): Promise<unknown> {
  const def: OperationSpec = OPERATION_TABLE[name];
  const token = bearer(c);
  // Only an authenticated POST creates or acts (PUT, PATCH and DELETE here are idempotent by
  // themselves). The vault checks the key's shape, after authorisation, like any input.
  const key = def.method === "post" ? c.req.header("idempotency-key") : undefined;
  const raw = { ...(await readRaw(c, def)), ...extra };
  return unwrapOutcome(await vaultStub(c.env, token.tenantId).op(name, vaultCall(c, token, raw, key)));
}

/** The router serving every authenticated operation that is not `custom`, one generic handler each. */
export function operationRouter(): Hono<AppEnv> {
  const router = new Hono<AppEnv>();
  for (const [name, def] of Object.entries(OPERATION_TABLE) as [Operation, OperationSpec][]) {
    if (def.role === null || def.custom) continue;
    router.on(def.method.toUpperCase(), def.path, async (c) => respond(c, def, await callOperation(c, name)));
  }
  return router;
}

/**
 * Reads and validates a public operation's request (bootstrap, CI entry points): with no token
 * there is no one to authorise first, and the Worker needs the tenant they name to route the
 * call. Bad input of any kind is a 4xx, never a 500. Returns the parts as received (`raw`, what the
 * vault's RPC method takes and parses into its own types) and as parsed (`input`, for routing).
 */
export async function readPublicInput<S extends OperationSpec>(
  c: Context<AppEnv>,
  def: S,
): Promise<{ raw: RawInput; input: OperationInput<S> }> {
  const raw = await readRaw(c, def);
  return { raw, input: parseOperationInput(def, raw) };
}
