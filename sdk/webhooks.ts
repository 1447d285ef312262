/** Webhook lease sources (admin): CI systems without OIDC that sign lease requests with an HMAC secret. */

import type { z } from "zod";
import { CreatedWebhookSchema, type CreateWebhookSchema, type Webhook } from "../worker/contract/schemas/federation";
import { type CallOptions, type HttpClient } from "./http";
import type { Duration } from "./leases";

export type { Webhook } from "../worker/contract/schemas/federation";
/** A created webhook and its signing secret, shown this once. */
export type CreatedWebhook = z.output<typeof CreatedWebhookSchema>;
/** What `webhooks.create` takes: a name (its identity becomes `ci:webhook:<name>`), credential globs, max TTL. */
export type CreateWebhook = Omit<z.input<typeof CreateWebhookSchema>, "max_ttl"> & { max_ttl?: Duration };

/** HMAC-signed webhook lease sources (admin). */
export class WebhooksApi {
  readonly #http: HttpClient;

  /** Used by {@link VaultClient}; not meant to be built directly. */
  constructor(http: HttpClient) {
    this.#http = http;
  }

  /** Every webhook of the tenant (never their secrets). */
  list(options: CallOptions = {}): Promise<{ items: Webhook[] }> {
    return this.#http.op("webhooks.list", {}, options);
  }

  /** Creates a webhook; `secret` in the answer is shown this once. Not retried unless given an idempotency key. */
  create(input: CreateWebhook, options: CallOptions = {}): Promise<CreatedWebhook> {
    return this.#http.op("webhooks.create", { body: input }, options);
  }

  /** Deletes a webhook (by id or name): its signed requests are refused from then on. */
  delete(ref: string, options: CallOptions = {}): Promise<void> {
    return this.#http.op("webhooks.delete", { params: { ref } }, options);
  }
}
