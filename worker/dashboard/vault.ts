/**
 * How dashboard pages reach the tenant's vault: by operation name, through the same operation table
 * and RPC the JSON API uses (worker/contract/operations, `TenantVault.op`), with the browser's
 * session token and the request's parts as the API would send them. The vault checks the session,
 * the role and the input exactly as for an API call, so a page can never do what its session could
 * not do through the API.
 */
import type { Context } from "hono";
import { OPERATIONS, type Operation, type RawInput } from "../contract/operations";
import { roleAtLeast } from "../contract/roles";
import { VaultError } from "../contract/errors";
import { unwrapOutcome } from "../contract/rpc";
import type { Whoami } from "../contract/schemas/tokens";
import { findIllFormed, illFormedMessage, isWellFormed } from "../core/well-formed";
import { vaultCall, vaultStub } from "../routes/define";
import type { AppEnv } from "../app-env";

/** Who is signed in, as the vault reported it for this request. */
export interface Viewer extends Whoami {
  /** The session token from the cookie; sent to the vault, never rendered. */
  token: string;
  /** This session's CSRF token, rendered into every form. */
  csrf: string;
}

/** The dashboard's Hono environment: the Worker's, plus the signed-in viewer and a parsed form. */
export type DashEnv = {
  Bindings: AppEnv["Bindings"];
  Variables: AppEnv["Variables"] & { viewer: Viewer; form: Record<string, string> };
};

/** A dashboard request context. */
export type DashContext = Context<DashEnv>;

/** True when the viewer's role is at least the least role of every operation named. */
export function may(viewer: Pick<Viewer, "role">, ...ops: Operation[]): boolean {
  return ops.every((op) => roleAtLeast(viewer.role, OPERATIONS[op]));
}

/** Refuses (403 page) before any RPC when the viewer's role cannot perform `op`; the vault would refuse too. */
export function requireRole(c: DashContext, op: Operation): void {
  if (!may(c.get("viewer"), op)) throw new VaultError("forbidden", `this page needs the ${OPERATIONS[op]} role`);
}

/** Calls `op` with `token` and the request parts (params, query, body) its route takes; a refusal throws its VaultError. */
export async function callAs<T>(
  c: Context<DashEnv> | Context<AppEnv>,
  token: string,
  tenantId: string,
  op: Operation,
  input: RawInput = {},
): Promise<T> {
  return unwrapOutcome(
    await vaultStub(c.env, tenantId).op(op, vaultCall(c as Context<AppEnv>, { raw: token }, input)),
  ) as T;
}

/** Calls `op` as the signed-in viewer, after the role check. */
export function call<T>(c: DashContext, op: Operation, input: RawInput = {}): Promise<T> {
  requireRole(c, op);
  const viewer = c.get("viewer");
  return callAs<T>(c, viewer.token, viewer.tenant_id, op, input);
}

/** Reads a urlencoded or multipart form as strings; a malformed body or a non-text field is a 400. */
export async function readForm(c: Context): Promise<Record<string, string>> {
  let parsed: Record<string, unknown>;
  try {
    parsed = await c.req.parseBody();
  } catch {
    // decodeURIComponent throws on a %-escape that is not UTF-8; that is the client's error.
    throw new VaultError("validation_failed", "form: the body is not a well-formed form");
  }
  const form: Record<string, string> = {};
  for (const [name, value] of Object.entries(parsed)) {
    if (typeof value !== "string")
      throw new VaultError("validation_failed", `form: field ${JSON.stringify(name).slice(0, 80)} must be text`);
    form[name] = value;
  }
  const illFormed = findIllFormed(form, "form");
  if (illFormed !== null) throw new VaultError("validation_failed", illFormedMessage("form", illFormed));
  return form;
}

/**
 * The named non-empty entries of a query or form, trimmed: what an RPC input is built from. Like
 * readInput for the API, an ill-formed string (a lone surrogate) is a 400 here and never reaches the
 * vault's storage or audit log.
 */
export function present(fields: Record<string, string | undefined>, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = fields[name]?.trim();
    if (!value) continue;
    if (!isWellFormed(value)) throw new VaultError("validation_failed", `${name}: must be well-formed Unicode`);
    out[name] = value;
  }
  return out;
}

/**
 * Parses a JSON text field (ACL, use policy, trust); invalid JSON is a 400 naming the field, and so
 * is a `\ud800`-style escape that decodes to an ill-formed string.
 */
export function jsonField(form: Record<string, string>, name: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(form[name] ?? "");
  } catch {
    throw new VaultError("invalid_json", `${name}: not valid JSON`);
  }
  const illFormed = findIllFormed(value, name);
  if (illFormed !== null) throw new VaultError("validation_failed", illFormedMessage(name, illFormed));
  return value;
}

/** Splits a comma, space or newline separated list field. */
export function listField(value: string | undefined): string[] {
  return (value ?? "").split(/[\s,]+/).filter((s) => s.length > 0);
}

/** A duration field: whole seconds as a number, anything else ("1h") as the string, for DurationSchema. */
export function durationField(value: string | undefined): number | string | undefined {
  const v = value?.trim();
  if (!v) return undefined;
  return /^\d+$/.test(v) ? Number(v) : v;
}
