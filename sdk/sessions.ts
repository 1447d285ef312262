import type { z } from "zod";
import type { CreateSessionSchema } from "../worker/contract/schemas/sessions";
import { type CreatedToken } from "../worker/contract/schemas/tokens";
import type { CallOptions, HttpClient } from "./http";
import type { Duration } from "./leases";

/** What `sessions.create` takes: an optional lifetime, a lower role, and a name. */
export type CreateSession = Omit<z.input<typeof CreateSessionSchema>, "ttl"> & { ttl?: Duration };

/** Session tokens: short-lived tokens exchanged for the client's API token. */
export class SessionsApi {
  readonly #http: HttpClient;

  /** Used by {@link VaultClient}; not meant to be built directly. */
  constructor(http: HttpClient) {
    this.#http = http;
  }

  /** Creates a session token (shown this once, in `token`). Not retried unless given an idempotency key. */
  create(input: CreateSession = {}, options: CallOptions = {}): Promise<CreatedToken> {
    return this.#http.op("sessions.create", { body: input }, options);
  }

  /** Ends a session, effective on its next use. */
  revoke(id: string, options: CallOptions = {}): Promise<void> {
    return this.#http.op("sessions.revoke", { params: { id } }, options);
  }
}
