import type { z } from "zod";
import {
  type CreateLeaseSchema,
  type Lease as LeaseInfo,
  type LeasePage,
  type ListLeasesQuerySchema,
  type RevokeMatchingSchema,
} from "../worker/contract/schemas/leases";
import type { CallOptions, HttpClient } from "./http";
import { Lease } from "./lease";
import { ApprovalPendingError } from "./requests";

/** A duration: whole seconds, or a string such as "90s", "10m", "1h", "7d" (sent as given). */
export type Duration = number | `${number}${"s" | "m" | "h" | "d"}`;

/** What `leases.create` takes: the credential (id or name), TTL, purpose and agent attribution. */
export type CreateLease = Omit<z.input<typeof CreateLeaseSchema>, "ttl"> & { ttl?: Duration };
/** Filters and paging of `leases.list`. */
export type ListLeases = Partial<z.output<typeof ListLeasesQuerySchema>>;
/** Break-glass filter: `{ credential }`, `{ identity: "agent:*" }` or `{ all: true }`, with an optional reason. */
export type RevokeMatching = z.input<typeof RevokeMatchingSchema>;

/** Leases: the only way to a credential value, each attributed and time-limited. */
export class LeasesApi {
  readonly #http: HttpClient;

  /** Used by {@link VaultClient}; not meant to be built directly. */
  constructor(http: HttpClient) {
    this.#http = http;
  }

  /**
   * Leases a credential and returns the held {@link Lease} (value included). A POST: not retried
   * unless `options.idempotencyKey` is given, since a retry could issue a second lease. When an
   * approve rule holds the lease, rejects with {@link ApprovalPendingError} carrying the request.
   */
  async create(input: CreateLease, options: CallOptions = {}): Promise<Lease> {
    const created = await this.#http.op("leases.create", { body: input }, options);
    if ("request" in created) throw new ApprovalPendingError(created.request);
    return new Lease(this, created);
  }

  /** One page of leases (viewers and users see their own identity's, managers all). */
  list(query: ListLeases = {}, options: CallOptions = {}): Promise<LeasePage> {
    return this.#http.op("leases.list", { query }, options);
  }

  /** A lease's metadata (never its value). */
  get(id: string, options: CallOptions = {}): Promise<LeaseInfo> {
    return this.#http.op("leases.get", { params: { id } }, options);
  }

  /** Renews a lease by `ttl` (default: its original TTL) from now, never past its maximum lifetime. */
  renew(id: string, ttl?: Duration, options: CallOptions = {}): Promise<LeaseInfo> {
    const body = ttl === undefined ? {} : { ttl };
    return this.#http.op("leases.renew", { params: { id }, body }, options);
  }

  /** Revokes a lease now; answers 409 `conflict` if it has already ended. */
  revoke(id: string, options: CallOptions = {}): Promise<LeaseInfo> {
    return this.#http.op("leases.revoke", { params: { id } }, options);
  }

  /** Break glass: revokes every active lease matching the filter; returns how many. */
  revokeMatching(filter: RevokeMatching, options: CallOptions = {}): Promise<{ revoked: number }> {
    return this.#http.op("leases.revoke_matching", { body: filter }, options);
  }
}
