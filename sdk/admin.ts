import type { z } from "zod";
import { type KekRotateResult, type KekStatus } from "../worker/contract/schemas/admin";
import { ImpactReportSchema, type ImpactQuerySchema } from "../worker/contract/schemas/audit";
import type { CallOptions, HttpClient } from "./http";

/** The window of an incident impact report: ISO 8601 timestamps. */
export type ImpactQuery = z.output<typeof ImpactQuerySchema>;
/** Which credentials were leased in the window, by whom, and how each lease ended. */
export type ImpactReport = z.output<typeof ImpactReportSchema>;

/** Tenant KEK status and rotation (admin). */
export class AdminApi {
  readonly #http: HttpClient;

  /** Used by {@link VaultClient}; not meant to be built directly. */
  constructor(http: HttpClient) {
    this.#http = http;
  }

  /** KEK versions and the progress of any rewrap sweep. */
  kekStatus(options: CallOptions = {}): Promise<KekStatus> {
    return this.#http.op("kek.status", {}, options);
  }

  /** Rotates the tenant KEK; wrapped DEKs are rewrapped in the background. Never retried without an idempotency key. */
  rotateKek(options: CallOptions = {}): Promise<KekRotateResult> {
    return this.#http.op("kek.rotate", {}, options);
  }
}

/** Incident tools (admin). */
export class IncidentApi {
  readonly #http: HttpClient;

  /** Used by {@link VaultClient}; not meant to be built directly. */
  constructor(http: HttpClient) {
    this.#http = http;
  }

  /** The impact report for a time window. */
  impact(query: ImpactQuery, options: CallOptions = {}): Promise<ImpactReport> {
    return this.#http.op("incident.impact", { query }, options);
  }
}
