import type { Lease as LeaseInfo, LeaseWithValue } from "../worker/contract/schemas/leases";
import { VaultError } from "./errors";
import type { CallOptions } from "./http";
import type { Duration, LeasesApi } from "./leases";

// `await using` calls Symbol.asyncDispose, which Node 20 defines but older runtimes and some
// browsers do not; TypeScript's downlevel helper then looks up the same registered symbol.
(Symbol as { asyncDispose?: symbol }).asyncDispose ??= Symbol.for("Symbol.asyncDispose");

const inspect = Symbol.for("nodejs.util.inspect.custom");

/**
 * A held lease: its value and metadata, and the means to renew or end it. `await using` revokes
 * it when the block ends:
 *
 * ```ts
 * await using lease = await vault.lease("openai", { ttl: "10m", purpose: "eval" });
 * callOpenAI(lease.value);
 * ```
 *
 * The value is kept out of `JSON.stringify(lease)`, `console.log(lease)` and string
 * conversion, so a lease that ends up in a log does not carry its secret there.
 */
export class Lease implements AsyncDisposable {
  readonly #api: LeasesApi;
  readonly #value: string;
  #info: LeaseInfo;

  /** Used by {@link LeasesApi.create}; not meant to be built directly. */
  constructor(api: LeasesApi, created: LeaseWithValue) {
    this.#api = api;
    this.#value = created.value;
    this.#info = created.lease;
  }

  /** The credential value. Read it where it is used; do not store it. */
  get value(): string {
    return this.#value;
  }

  /** The lease id (`lease_...`). */
  get id(): string {
    return this.#info.id;
  }

  /** The lease's metadata as last seen from the server (updated by renew and revoke). */
  get metadata(): LeaseInfo {
    return this.#info;
  }

  /** When the lease expires, as last seen from the server. */
  get expiresAt(): Date {
    return new Date(this.#info.expires_at);
  }

  /** False once this object has revoked the lease (or seen that it ended). */
  get active(): boolean {
    return this.#info.state === "active";
  }

  /** Extends the lease by `ttl` (default: its original TTL) from now, never past its maximum lifetime. */
  async renew(ttl?: Duration, options: CallOptions = {}): Promise<LeaseInfo> {
    this.#info = await this.#api.renew(this.id, ttl, options);
    return this.#info;
  }

  /**
   * Ends the lease now. Ending an already ended lease (revoked by someone else, or expired) is
   * not an error: the lease's final state is returned.
   */
  async revoke(options: CallOptions = {}): Promise<LeaseInfo> {
    try {
      this.#info = await this.#api.revoke(this.id, options);
    } catch (error) {
      // 409: the server refuses to revoke a lease that has already ended, which is what we wanted.
      if (!(error instanceof VaultError && error.code === "conflict")) throw error;
      this.#info = await this.#api.get(this.id, options);
      if (this.#info.state === "active") throw error;
    }
    return this.#info;
  }

  /** Revokes the lease unless this object already has; `await using` calls it. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.active) await this.revoke();
  }

  /** Metadata only: never the value. */
  toJSON(): LeaseInfo {
    return this.#info;
  }

  /** Never the value. */
  toString(): string {
    return `Lease(${this.#info.id} ${this.#info.credential_name} v${this.#info.version} ${this.#info.state})`;
  }

  /** What console.log and util.inspect show in Node: never the value. */
  [inspect](): string {
    return this.toString();
  }
}
