/**
 * CI jobs by OIDC ID token (no API token): lease at the start of a job, revoke at its end. Each
 * ID token is single-use at the vault, so each call needs a fresh one. Used by `ghostvault ci`.
 */

import type { z } from "zod";
import { CiLeasesSchema, CiRevokedSchema, type OidcLeaseRequestSchema } from "../worker/contract/schemas/federation";
import type { CallOptions, HttpClient } from "./http";
import type { Duration } from "./leases";

/** What `ci.lease` takes: tenant, ID token, credential names (at most 20), optional ttl/purpose/agent. */
export type CiLeaseRequest = Omit<z.input<typeof OidcLeaseRequestSchema>, "ttl"> & { ttl?: Duration };
/** The CI identity the vault recognised and its leases, with values. */
export type CiLeases = z.output<typeof CiLeasesSchema>;
/** The leases a CI job gave back. */
export type CiRevoked = z.output<typeof CiRevokedSchema>;

/** `POST /v1/ci/leases` and `POST /v1/ci/leases/revoke`; the client needs no API token for these. */
export class CiApi {
  readonly #http: HttpClient;

  /** Used by {@link VaultClient}; not meant to be built directly. */
  constructor(http: HttpClient) {
    this.#http = http;
  }

  /** Exchanges an ID token for leases. Not retried (the token is consumed by the first attempt). */
  lease(request: CiLeaseRequest, options: CallOptions = {}): Promise<CiLeases> {
    return this.#http.op("ci.oidc_lease", { body: request }, options);
  }

  /** Revokes the job's own leases with a fresh ID token; already ended ones come back as they are. */
  revoke(
    request: { tenant_id: string; token: string; lease_ids: string[] },
    options: CallOptions = {},
  ): Promise<CiRevoked> {
    return this.#http.op("ci.oidc_revoke", { body: request }, options);
  }
}
