import type { z } from "zod";
import {
  type CreatedToken,
  type CreateTokenSchema,
  type ListTokensQuerySchema,
  type Token,
  type TokenPage,
  type Whoami,
} from "../worker/contract/schemas/tokens";
import type { CallOptions, HttpClient } from "./http";
import type { Duration } from "./leases";

/** What `tokens.create` takes: name, role, identity and an optional lifetime. */
export type CreateToken = Omit<z.input<typeof CreateTokenSchema>, "expires_in"> & { expires_in?: Duration };
/** Paging of `tokens.list`. */
export type ListTokens = Partial<z.output<typeof ListTokensQuerySchema>>;

/** API token management (admin) and whoami. */
export class TokensApi {
  readonly #http: HttpClient;

  /** Used by {@link VaultClient}; not meant to be built directly. */
  constructor(http: HttpClient) {
    this.#http = http;
  }

  /** Who the client's token is: tenant, identity, role. */
  whoami(options: CallOptions = {}): Promise<Whoami> {
    return this.#http.op("whoami", {}, options);
  }

  /** One page of token metadata (never the tokens themselves). */
  list(query: ListTokens = {}, options: CallOptions = {}): Promise<TokenPage> {
    return this.#http.op("tokens.list", { query }, options);
  }

  /** A token's metadata. */
  get(id: string, options: CallOptions = {}): Promise<Token> {
    return this.#http.op("tokens.get", { params: { id } }, options);
  }

  /** Creates an API token; `token` in the answer is shown this once. */
  create(input: CreateToken, options: CallOptions = {}): Promise<CreatedToken> {
    return this.#http.op("tokens.create", { body: input }, options);
  }

  /** Revokes a token, effective on its next use. */
  revoke(id: string, options: CallOptions = {}): Promise<void> {
    return this.#http.op("tokens.revoke", { params: { id } }, options);
  }
}
