import type { z } from "zod";
import {
  type Credential,
  type CredentialPage,
  type CredentialVersion,
  type CreateCredentialSchema,
  type ListCredentialsQuerySchema,
  type UpdateCredentialSchema,
} from "../worker/contract/schemas/credentials";
import { type CallOptions, type HttpClient } from "./http";

/** What `credentials.create` takes: name, value and optional metadata; TTLs as seconds or "10m". */
export type CreateCredential = z.input<typeof CreateCredentialSchema>;
/** What `credentials.update` takes: metadata only; the value changes through `rotate`. */
export type UpdateCredential = z.input<typeof UpdateCredentialSchema>;
/** Filters and paging of `credentials.list`. */
export type ListCredentials = Partial<z.output<typeof ListCredentialsQuerySchema>>;

/** Credential metadata and versions. No answer here carries a value: only a lease does. */
export class CredentialsApi {
  readonly #http: HttpClient;

  /** Used by {@link VaultClient}; not meant to be built directly. */
  constructor(http: HttpClient) {
    this.#http = http;
  }

  /** One page of credentials; pass `next_cursor` back as `cursor` for the next. */
  list(query: ListCredentials = {}, options: CallOptions = {}): Promise<CredentialPage> {
    return this.#http.op("credentials.list", { query }, options);
  }

  /** Every credential matching `query`, page after page. */
  async *listAll(
    query: Omit<ListCredentials, "cursor"> = {},
    options: CallOptions = {},
  ): AsyncGenerator<Credential, void, undefined> {
    let cursor: string | undefined;
    do {
      const page = await this.list({ ...query, cursor }, options);
      yield* page.items;
      cursor = page.next_cursor ?? undefined;
    } while (cursor !== undefined);
  }

  /** A credential's metadata, by id (`cred_...`) or name. */
  get(ref: string, options: CallOptions = {}): Promise<Credential> {
    return this.#http.op("credentials.get", { params: { ref } }, options);
  }

  /** Creates a credential (version 1). Not retried unless `options.idempotencyKey` is given. */
  create(input: CreateCredential, options: CallOptions = {}): Promise<Credential> {
    return this.#http.op("credentials.create", { body: input }, options);
  }

  /** Changes description, tags or TTLs. */
  update(ref: string, input: UpdateCredential, options: CallOptions = {}): Promise<Credential> {
    return this.#http.op("credentials.update", { params: { ref }, body: input }, options);
  }

  /** Stores a new value as a new version under a fresh data key. */
  rotate(ref: string, value: string, options: CallOptions = {}): Promise<Credential> {
    return this.#http.op("credentials.rotate", { params: { ref }, body: { value } }, options);
  }

  /** The credential's versions (metadata only). */
  versions(ref: string, options: CallOptions = {}): Promise<{ items: CredentialVersion[] }> {
    return this.#http.op("credentials.versions", { params: { ref } }, options);
  }

  /** Deletes the credential and every stored version. */
  delete(ref: string, options: CallOptions = {}): Promise<void> {
    return this.#http.op("credentials.delete", { params: { ref } }, options);
  }
}
