import type { z } from "zod";
import { base64ToBytes, bytesToBase64 } from "../worker/core/crypto/encoding";
import { UsePolicySchema, type UsePolicy, type UseResponse } from "../worker/contract/schemas/use";
import type { CallOptions, HttpClient, OpParts } from "./http";

/** What `use.setPolicy` takes: origins, methods, path prefixes, injection, limits (defaults filled by the vault). */
export type SetUsePolicy = z.input<typeof UsePolicySchema>;

/** Attribution for a proxied call, as for a lease. */
export interface UseOptions extends CallOptions {
  purpose?: string;
  agent?: Record<string, string>;
}

/** Statuses whose response has no body (the Fetch standard's null body statuses). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/**
 * A credential used without possession: `fetch` sends the request through the vault, which
 * injects the value as the credential's use policy says and scrubs it from the answer.
 */
export class CredentialUse {
  readonly #http: HttpClient;
  readonly #ref: string;
  readonly #options: UseOptions;

  /** Made by {@link VaultClient.use}. */
  constructor(http: HttpClient, ref: string, options: UseOptions = {}) {
    this.#http = http;
    this.#ref = ref;
    this.#options = options;
  }

  /** The vault's answer as sent (status, headers, base64 body, `scrubbed`, `upstream_ms`). */
  async call(input: string | URL | Request, init?: RequestInit): Promise<UseResponse> {
    const request = new Request(input, init);
    const bytes = new Uint8Array(await request.arrayBuffer());
    const headers = Object.fromEntries(request.headers);
    const { purpose, agent, ...call } = this.#options;
    const body = {
      method: request.method,
      url: request.url,
      headers,
      ...(bytes.byteLength > 0 ? { body_base64: bytesToBase64(bytes) } : {}),
      ...(purpose !== undefined ? { purpose } : {}),
      ...(agent !== undefined ? { agent } : {}),
    };
    // The method and agent are passed on as the caller gave them; the vault validates them.
    return this.#http.op(
      "use.request",
      { params: { ref: this.#ref }, body: body as OpParts<"use.request">["body"] },
      { ...call, signal: init?.signal ?? call.signal },
    );
  }

  /**
   * Like the platform's `fetch`, through the vault: returns a standard `Response` with the
   * upstream's status, headers and body (the value scrubbed out; `x-vault-scrubbed` says whether
   * anything was). Refusals throw VaultError (`use_denied`, `payload_too_large`,
   * `upstream_error`, `upstream_timeout`, ...). Redirects are returned, never followed.
   */
  async fetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    const answer = await this.call(input, init);
    const headers = new Headers(answer.headers);
    headers.set("x-vault-scrubbed", String(answer.scrubbed));
    const body = NULL_BODY.has(answer.status) ? null : base64ToBytes(answer.body_base64);
    return new Response(body, { status: answer.status, headers });
  }
}

/** Use policies and the ACL check (managers set, viewers read). */
export class UseApi {
  readonly #http: HttpClient;

  /** Used by {@link VaultClient}; not meant to be built directly. */
  constructor(http: HttpClient) {
    this.#http = http;
  }

  /** A credential's use policy; VaultError `not_found` when it has none. */
  getPolicy(ref: string, options: CallOptions = {}): Promise<UsePolicy> {
    return this.#http.op("use.get", { params: { ref } }, options);
  }

  /** Sets (replaces) a credential's use policy. */
  setPolicy(ref: string, policy: SetUsePolicy, options: CallOptions = {}): Promise<UsePolicy> {
    return this.#http.op("use.set", { params: { ref }, body: policy }, options);
  }

  /** Removes a credential's use policy: it can no longer be used through the vault. */
  deletePolicy(ref: string, options: CallOptions = {}): Promise<void> {
    return this.#http.op("use.delete", { params: { ref } }, options);
  }

  /** What the ACL answers for an identity and permission, and which rule and team decide. */
  check(ref: string, identity: string, permission: "lease" | "use" = "lease", options: CallOptions = {}) {
    return this.#http.op("acl.check", { params: { ref }, query: { identity, permission } }, options);
  }
}
