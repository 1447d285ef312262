import type { z } from "zod";
import { AclSchema, type Acl } from "../worker/contract/schemas/acl";
import { type CallOptions, type HttpClient } from "./http";

/** What `acl.set` takes: ordered allow/deny rules on identity globs, and agent visibility. */
export type SetAcl = z.input<typeof AclSchema>;

/** Credential access policies (manager): who may lease, and whether an MCP server may reveal the value. */
export class AclApi {
  readonly #http: HttpClient;

  /** Used by {@link VaultClient}; not meant to be built directly. */
  constructor(http: HttpClient) {
    this.#http = http;
  }

  /** A credential's policy; one never set is `{ rules: [], agent_visible: false }`. */
  get(ref: string, options: CallOptions = {}): Promise<Acl> {
    return this.#http.op("acl.get", { params: { ref } }, options);
  }

  /** Replaces a credential's policy (a PUT: retried on 429/503 like any idempotent call). */
  set(ref: string, acl: SetAcl, options: CallOptions = {}): Promise<Acl> {
    return this.#http.op("acl.set", { params: { ref }, body: acl }, options);
  }
}
