/**
 * The SDK's one HTTP core: builds requests, sends them with the client's fetch, retries what is
 * safe to retry, turns failures into {@link VaultError} and validates answers against the API's
 * own zod response schemas. Method groups (credentials.ts, leases.ts, ...) only describe calls.
 */

import type { z } from "zod";
import { OPERATION_TABLE, type OperationName, type OperationSpec, type SpecOf } from "../worker/contract/operations";
import { ErrorBodySchema } from "../worker/contract/schemas/common";
import { parseToken } from "../worker/core/auth/tokens";
import { VaultError } from "./errors";
import { backoffDelay, parseRetryAfter, retryPolicy, type RetryOptions, type RetryPolicy } from "./retry";

/** A fetch function: the platform's, or one from sdk/node.ts (`createPinnedFetch`). */
export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** HTTP methods the API uses. */
export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** Per-call options every SDK method accepts. */
export interface CallOptions {
  /** Aborts the call (and any retry wait after the current attempt). */
  signal?: AbortSignal;
  /**
   * Sent as `Idempotency-Key` (1–128 printable ASCII characters), and makes a POST/PATCH retryable.
   * The server remembers a POST's outcome per token and key for 24 h and answers it to every retry
   * without acting again (README "API"); use a fresh key per logical request.
   */
  idempotencyKey?: string;
}

/** One API call as the method groups describe it. */
export interface ApiRequest extends CallOptions {
  method: Method;
  /** Path under the base URL, starting with `/v1/`; path parameters already encoded. */
  path: string;
  query?: Record<string, string | number | boolean | null | undefined>;
  /** JSON body. */
  body?: unknown;
}

type Part<S, K extends "params" | "body"> = K extends keyof S
  ? S[K] extends z.ZodType
    ? z.input<S[K]>
    : never
  : never;

/**
 * The parts of a call of operation `K`, typed from the operation table: its path parameters and
 * body as the server's schemas take them (a query is loose: its values are sent as strings).
 */
export interface OpParts<K extends OperationName> {
  params?: Part<SpecOf<K>, "params">;
  query?: ApiRequest["query"];
  body?: Part<SpecOf<K>, "body">;
}

/** What operation `K` answers, checked against its response schema; nothing for a 204. */
export type OpAnswer<K extends OperationName> =
  | (SpecOf<K>["response"] extends z.ZodType ? z.output<SpecOf<K>["response"]> : undefined)
  // The second success answer some operations have (a lease held for approval: 202 with the request).
  | (SpecOf<K> extends { accepted: { response: infer A extends z.ZodType } } ? z.output<A> : never);

/**
 * The request of operation `name`: method and path from the operation table (the server's own
 * declaration), each path parameter encoded as one segment.
 * @throws TypeError if a path parameter is missing.
 */
export function opRequest<K extends OperationName>(name: K, parts: OpParts<K>, options: CallOptions = {}): ApiRequest {
  const spec: OperationSpec = OPERATION_TABLE[name];
  const params = (parts.params ?? {}) as Record<string, string | undefined>;
  const path = spec.path.replace(/:(\w+)/g, (_m, param: string) => {
    const value = params[param];
    if (value === undefined) throw new TypeError(`${name}: no value for :${param}`);
    return segment(value);
  });
  const req: ApiRequest = { ...options, method: spec.method.toUpperCase() as Method, path };
  if (parts.query !== undefined) req.query = parts.query;
  if (parts.body !== undefined) req.body = parts.body;
  return req;
}

/** Settings of the HTTP core. */
export interface HttpClientOptions {
  /** Base URL of the vault, e.g. `https://vault.example.com`. */
  url: string;
  /** API token (`gv_api_...`), sent as `Authorization: Bearer`. */
  token?: string;
  /** fetch to use. Default: the global fetch. */
  fetch?: FetchLike;
  retry?: RetryOptions;
}

const IDEMPOTENT: ReadonlySet<Method> = new Set(["GET", "PUT", "DELETE"]);
const RETRY_STATUS: ReadonlySet<number> = new Set([429, 503]);

/** Whether a request may be sent again: idempotent methods, or any method with an idempotency key. */
export function isRetryable(req: Pick<ApiRequest, "method" | "idempotencyKey">): boolean {
  return IDEMPOTENT.has(req.method) || req.idempotencyKey !== undefined;
}

/** The HTTP core shared by every method group of a client. */
export class HttpClient {
  /** Base URL without a trailing slash. */
  readonly baseUrl: string;
  readonly #token: string | undefined;
  readonly #fetch: FetchLike;
  readonly #retry: RetryPolicy;

  /** @throws TypeError if `url` is not an absolute URL. */
  constructor(options: HttpClientOptions) {
    this.baseUrl = new URL(options.url).toString().replace(/\/+$/, "");
    this.#token = options.token;
    // Bound so a platform fetch is not called with the client as `this` (browsers refuse that).
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#retry = retryPolicy(options.retry);
  }

  /** The tenant the client's token belongs to (read from the token itself), if it has one. */
  get tenant(): string | undefined {
    return this.#token === undefined ? undefined : parseToken(this.#token)?.tenantId;
  }

  /** Calls operation `name` of the operation table and returns its answer, checked against the table's response schema. */
  op<K extends OperationName>(name: K, parts: OpParts<K>, options: CallOptions = {}): Promise<OpAnswer<K>> {
    const spec: OperationSpec = OPERATION_TABLE[name];
    const req = opRequest(name, parts, options);
    if (spec.response === null) return this.empty(req) as Promise<OpAnswer<K>>;
    return this.json(req, spec.accepted ? spec.response.or(spec.accepted.response) : spec.response) as Promise<
      OpAnswer<K>
    >;
  }

  /** Sends `req` and returns the answer parsed with `schema`. */
  json<S extends z.ZodType>(req: ApiRequest, schema: S): Promise<z.output<S>> {
    return this.#send(req, async (res) => {
      const requestId = res.headers.get("x-request-id") ?? undefined;
      let body: unknown;
      try {
        body = await res.json();
      } catch (cause) {
        throw new VaultError("invalid_response", `${req.method} ${req.path}: the answer is not JSON`, {
          status: res.status,
          requestId,
          cause,
        });
      }
      const parsed = schema.safeParse(body);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const where = issue ? `${issue.path.join(".") || "body"}: ${issue.message}` : "schema mismatch";
        throw new VaultError("invalid_response", `${req.method} ${req.path}: unexpected answer (${where})`, {
          status: res.status,
          requestId,
        });
      }
      return parsed.data as z.output<S>;
    });
  }

  /** Sends `req`, expecting no body (204). */
  async empty(req: ApiRequest): Promise<void> {
    await this.#send(req, async (res) => {
      await res.body?.cancel();
    });
  }

  /** Sends `req` and returns the successful response unread (for streams such as the audit export). */
  stream(req: ApiRequest): Promise<Response> {
    return this.#send(req, async (res) => res);
  }

  #url(req: ApiRequest): string {
    const url = new URL(this.baseUrl + req.path);
    for (const [key, value] of Object.entries(req.query ?? {})) {
      if (value !== undefined && value !== null) url.searchParams.set(key, String(value));
    }
    return url.toString();
  }

  #init(req: ApiRequest): RequestInit {
    const headers = new Headers({ accept: "application/json" });
    if (this.#token !== undefined) headers.set("authorization", `Bearer ${this.#token}`);
    if (req.idempotencyKey !== undefined) headers.set("idempotency-key", req.idempotencyKey);
    let body: string | undefined;
    if (req.body !== undefined) {
      headers.set("content-type", "application/json");
      body = JSON.stringify(req.body);
    }
    return { method: req.method, headers, body, signal: req.signal };
  }

  /** One attempt after another until success, a final failure, or the retry budget is spent. */
  async #send<T>(req: ApiRequest, read: (res: Response) => Promise<T>): Promise<T> {
    const retryable = isRetryable(req);
    const url = this.#url(req);
    for (let retry = 0; ; retry++) {
      let failure: VaultError;
      try {
        const res = await this.#fetchOnce(url, req);
        if (res.ok) return await read(res);
        failure = await errorFrom(res);
      } catch (error) {
        if (!(error instanceof VaultError)) throw error;
        failure = error;
      }
      const transient = failure.code === "network_error" || RETRY_STATUS.has(failure.status);
      if (!retryable || !transient || retry >= this.#retry.maxRetries) throw failure;
      if (failure.retryAfterMs !== undefined && failure.retryAfterMs > this.#retry.maxRetryAfterMs) throw failure;
      await this.#retry.sleep(failure.retryAfterMs ?? backoffDelay(this.#retry, retry));
      req.signal?.throwIfAborted();
    }
  }

  /** One fetch; transport failures become `network_error`, an abort by the caller stays an abort. */
  async #fetchOnce(url: string, req: ApiRequest): Promise<Response> {
    try {
      return await this.#fetch(url, this.#init(req));
    } catch (error) {
      if (req.signal?.aborted || error instanceof VaultError) throw error;
      const detail = error instanceof Error ? error.message : String(error);
      throw new VaultError("network_error", `${req.method} ${req.path}: ${detail}`, { status: 0, cause: error });
    }
  }
}

/** Builds the VaultError of a failing response from the API's error body, or from its status alone. */
async function errorFrom(res: Response): Promise<VaultError> {
  const retryAfterMs = parseRetryAfter(res.headers.get("retry-after"));
  const headerId = res.headers.get("x-request-id") ?? undefined;
  let text = "";
  try {
    text = await res.text();
  } catch {
    // The body is lost; the status still says what happened.
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const parsed = ErrorBodySchema.safeParse(body);
  if (parsed.success) {
    const { code, message, request_id } = parsed.data.error;
    // The server's codes are a closed set; an unknown one (a newer server) is still passed on.
    return new VaultError(code as VaultError["code"], message, {
      status: res.status,
      requestId: request_id,
      retryAfterMs,
    });
  }
  const message = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ""}`;
  return new VaultError("http_error", message, { status: res.status, requestId: headerId, retryAfterMs });
}

/** Encodes one path segment (credential names may contain "/", sent as %2F). */
export function segment(value: string): string {
  return encodeURIComponent(value);
}
