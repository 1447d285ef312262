import type { z } from "zod";
import { describeZodError, VaultError } from "../errors";
import type { Role } from "../roles";
import { findIllFormed, illFormedMessage } from "../../core/well-formed";

/**
 * One operation of the API, declared once: everything the front door (route, OpenAPI), the
 * Durable Object (least role, input validation, handler lookup), the SDK and the test suites
 * need to know about it. Handlers live in durable-objects/ops/index.ts, keyed by the same name.
 */
export interface OperationSpec {
  /** The least role that may call it, or null for a public route that authenticates by other means (or not at all). */
  role: Role | null;
  method: "get" | "post" | "put" | "patch" | "delete";
  /** Hono path, e.g. `/v1/credentials/:ref`. */
  path: string;
  summary: string;
  tag: string;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** The success body, or null for 204 (and for the streamed audit export). */
  response: z.ZodType | null;
  status: 200 | 201 | 202 | 204;
  /** A second success answer: 202 with this body when `is(value)` (a lease held for approval, README "Approvals"). */
  accepted?: { status: 202; response: z.ZodType; is: (value: unknown) => boolean };
  /**
   * Served by a hand-written handler in worker/routes/ instead of the generic one (each says why
   * beside it). Public operations are always hand-written: they have no token to route by.
   */
  custom?: true;
}

/** The parsed input of an operation: each part present when the operation declares it. */
export interface OperationInput<S extends OperationSpec> {
  params: S["params"] extends z.ZodType ? z.output<S["params"]> : undefined;
  query: S["query"] extends z.ZodType ? z.output<S["query"]> : undefined;
  body: S["body"] extends z.ZodType ? z.output<S["body"]> : undefined;
}

/**
 * What the Worker sends the TenantVault for an operation: the request's parts as received,
 * unvalidated. The vault authenticates and authorises first and validates after (docs/architecture.md
 * "Validation"), so a caller who may not call the operation learns 401/403, never the schema.
 */
export interface RawInput {
  params?: Record<string, string>;
  query?: Record<string, string>;
  /** The JSON body, parsed. */
  body?: unknown;
  /** Why the body could not be read: reported after authorisation, like any bad input. */
  bodyError?: BodyError;
  /** The audit export's page cursor, set by its streaming handler, never by a client. */
  page?: { after: number | null; limit: number };
}

/** A body the Worker could not read: sent with a media type other than JSON, or not JSON. */
export type BodyError = "unsupported_media_type" | "invalid_json";

/** The 4xx of a body that could not be read. A closed set, so an RPC caller cannot choose the answer. */
export function bodyErrorOf(error: BodyError): VaultError {
  return error === "invalid_json"
    ? new VaultError("invalid_json", "request body is not valid JSON")
    : new VaultError("unsupported_media_type", "send the body as application/json");
}

function check<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  // Before the schema: an ill-formed string must never reach storage or the audit canonicaliser.
  const illFormed = findIllFormed(value, where);
  if (illFormed !== null) throw new VaultError("validation_failed", illFormedMessage(where, illFormed));
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new VaultError("validation_failed", describeZodError(parsed.error, where));
  return parsed.data;
}

/**
 * Validates a request's parts against the operation's schemas, in the order path, query, body.
 * The only place an operation's input is validated; bad input is a 400 naming where it is wrong.
 */
export function parseOperationInput<S extends OperationSpec>(
  spec: S,
  raw: RawInput | null | undefined,
): OperationInput<S> {
  const input = raw ?? {};
  const params = spec.params ? check(spec.params, input.params ?? {}, "path") : undefined;
  const query = spec.query ? check(spec.query, input.query ?? {}, "query") : undefined;
  let body: unknown;
  if (spec.body) {
    if (input.bodyError !== undefined) throw bodyErrorOf(input.bodyError);
    body = check(spec.body, input.body, "body");
  }
  return { params, query, body } as OperationInput<S>;
}

/** Declares a resource's operations; `satisfies` keeps each entry's literal types for the derived ones. */
export type OperationTable = Record<string, OperationSpec>;
