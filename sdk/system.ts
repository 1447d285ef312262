import type { CallOptions, HttpClient } from "./http";

/** Liveness and readiness (public). */
export class SystemApi {
  readonly #http: HttpClient;

  /** Used by {@link VaultClient}; not meant to be built directly. */
  constructor(http: HttpClient) {
    this.#http = http;
  }

  /** Liveness: the Worker answers. */
  health(options: CallOptions = {}): Promise<{ ok: true }> {
    return this.#http.op("system.health", {}, options);
  }

  /** Readiness: configuration valid and D1 reachable. */
  ready(options: CallOptions = {}): Promise<{ ok: true; d1: "ok" }> {
    return this.#http.op("system.ready", {}, options);
  }
}
