import { z } from "zod";
import type { CallOptions, HttpClient } from "./http";

// worker/routes/system.ts keeps these two inline; mirrored here until they move to worker/contract/schemas.
const HealthSchema = z.object({ ok: z.literal(true) });
const ReadySchema = z.object({ ok: z.literal(true), d1: z.literal("ok") });

/** Liveness and readiness (public). */
export class SystemApi {
  readonly #http: HttpClient;

  /** Used by {@link VaultClient}; not meant to be built directly. */
  constructor(http: HttpClient) {
    this.#http = http;
  }

  /** Liveness: the Worker answers. */
  health(options: CallOptions = {}): Promise<{ ok: true }> {
    return this.#http.json({ ...options, method: "GET", path: "/v1/health" }, HealthSchema);
  }

  /** Readiness: configuration valid and D1 reachable. */
  ready(options: CallOptions = {}): Promise<{ ok: true; d1: "ok" }> {
    return this.#http.json({ ...options, method: "GET", path: "/v1/ready" }, ReadySchema);
  }
}
