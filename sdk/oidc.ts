/** OIDC trusts (admin): which CI identity providers may exchange their ID tokens for leases. */

import type { z } from "zod";
import { type CreateTrustSchema, type Trust } from "../worker/contract/schemas/federation";
import { type CallOptions, type HttpClient } from "./http";
import type { Duration } from "./leases";

/** An OIDC trust as the API shows it. */
export type OidcTrust = Trust;

/**
 * What `oidc.create` takes: name, issuer, audience, `jwks_uri` or `jwks` (neither: OIDC
 * discovery), claim conditions (claim → exact value or glob), identity template (`ci:...` or
 * `service:...` with `{claim}` placeholders), role (viewer or user), credential globs, max TTL.
 */
export type CreateOidcTrust = Omit<z.input<typeof CreateTrustSchema>, "max_ttl"> & { max_ttl?: Duration };

/** OIDC trusts for CI federation (admin). */
export class OidcApi {
  readonly #http: HttpClient;

  /** Used by {@link VaultClient}; not meant to be built directly. */
  constructor(http: HttpClient) {
    this.#http = http;
  }

  /** Every trust of the tenant. */
  list(options: CallOptions = {}): Promise<{ items: OidcTrust[] }> {
    return this.#http.op("oidc.list", {}, options);
  }

  /** Creates a trust. Not retried unless given an idempotency key. */
  create(input: CreateOidcTrust, options: CallOptions = {}): Promise<OidcTrust> {
    return this.#http.op("oidc.create", { body: input }, options);
  }

  /** Deletes a trust (by id or name); leases it already granted run until they end. */
  delete(ref: string, options: CallOptions = {}): Promise<void> {
    return this.#http.op("oidc.delete", { params: { ref } }, options);
  }
}
