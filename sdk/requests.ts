import type { z } from "zod";
import type { AccessRequest, ListAccessRequestsQuerySchema } from "../worker/contract/schemas/access-requests";
import { VaultError } from "./errors";
import type { CallOptions, HttpClient } from "./http";
import { Lease } from "./lease";
import type { LeasesApi } from "./leases";

/** Filters of `requests.list`: `view: "queue"` (pending requests you may approve, the default) or `"mine"`. */
export type ListAccessRequests = Partial<Pick<z.output<typeof ListAccessRequestsQuerySchema>, "view" | "limit">>;

/** Options of {@link AccessRequestsApi.waitForApproval}. */
export interface WaitOptions extends CallOptions {
  /** Give up after this many milliseconds (default 15 minutes, a request's lifetime). */
  timeoutMs?: number;
  /** First pause between polls in milliseconds (default 1000); it grows by half each poll up to `maxIntervalMs`. */
  intervalMs?: number;
  /** Longest pause between polls in milliseconds (default 10000). */
  maxIntervalMs?: number;
  /** Called after each poll that still finds the request pending. */
  onPoll?: (request: AccessRequest) => void;
}

/**
 * The answer to a lease request that an approve rule holds (HTTP 202): no lease and no value, but
 * an access request that an approver must approve. `vault.lease()` rejects with it; catch it,
 * tell someone, then `vault.requests.waitForApproval(error.accessRequest.id)` and `collect()`
 * (or call `vault.leaseWithApproval()`, which does all of that).
 */
export class ApprovalPendingError extends VaultError {
  /** The pending request: its id, approvers and deadline. */
  readonly accessRequest: AccessRequest;
  constructor(request: AccessRequest) {
    super(
      "approval_pending",
      `lease of "${request.credential_name}" is waiting for approval by ${describeApprovers(request.approvers)} (request ${request.id}, expires ${request.expires_at})`,
      { status: 202 },
    );
    this.accessRequest = request;
  }
}

/** "team payments", "a manager", "a manager in team payments". */
export function describeApprovers(approvers: AccessRequest["approvers"]): string {
  const role =
    approvers.role === undefined ? undefined : `${approvers.role === "admin" ? "an" : "a"} ${approvers.role}`;
  if (role && approvers.team) return `${role} in team ${approvers.team}`;
  return role ?? `team ${approvers.team}`;
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });

/** Access requests (just-in-time access): the approvers' queue, decisions, and collecting the one lease of an approval. */
export class AccessRequestsApi {
  readonly #http: HttpClient;
  readonly #leases: LeasesApi;

  /** Used by {@link VaultClient}; not meant to be built directly. */
  constructor(http: HttpClient, leases: LeasesApi) {
    this.#http = http;
    this.#leases = leases;
  }

  /** Pending requests you may approve (`view: "queue"`, default) or your own (`view: "mine"`), newest first. */
  async list(query: ListAccessRequests = {}, options: CallOptions = {}): Promise<AccessRequest[]> {
    return (await this.#http.op("access_requests.list", { query }, options)).items;
  }

  /** One request: yours, or one you may approve (managers see all). */
  get(id: string, options: CallOptions = {}): Promise<AccessRequest> {
    return this.#http.op("access_requests.get", { params: { id } }, options);
  }

  /** Approves a pending request (you must be among its approvers and not its requester). */
  approve(id: string, reason?: string, options: CallOptions = {}): Promise<AccessRequest> {
    return this.#http.op(
      "access_requests.approve",
      { params: { id }, body: reason === undefined ? {} : { reason } },
      options,
    );
  }

  /** Denies a pending request; the requester sees the reason. */
  deny(id: string, reason: string, options: CallOptions = {}): Promise<AccessRequest> {
    return this.#http.op("access_requests.deny", { params: { id }, body: { reason } }, options);
  }

  /**
   * Collects the one lease of your approved request. Rejects with {@link ApprovalPendingError} while
   * it is still pending, and with 409 `conflict` once it was collected, denied or has expired.
   */
  async collect(id: string, options: CallOptions = {}): Promise<Lease> {
    const answer = await this.#http.op("access_requests.collect", { params: { id } }, options);
    if ("request" in answer) throw new ApprovalPendingError(answer.request);
    return new Lease(this.#leases, answer);
  }

  /**
   * Polls a request, with a growing pause, until it is no longer pending. Resolves with the
   * approved request; rejects with `approval_denied` (with the approver's reason),
   * `approval_expired`, or `approval_timeout` when `timeoutMs` passes first.
   */
  async waitForApproval(id: string, options: WaitOptions = {}): Promise<AccessRequest> {
    const deadline = Date.now() + (options.timeoutMs ?? 15 * 60_000);
    let interval = options.intervalMs ?? 1000;
    const max = options.maxIntervalMs ?? 10_000;
    for (;;) {
      const request = await this.get(id, options);
      if (request.status === "approved") return request;
      if (request.status === "denied")
        throw new VaultError(
          "approval_denied",
          `access request ${id} was denied by ${request.decided_by ?? "an approver"}${request.reason ? `: ${request.reason}` : ""}`,
          { status: 200 },
        );
      if (request.status !== "pending")
        throw new VaultError("approval_expired", `access request ${id} is ${request.status}; request access again`, {
          status: 200,
        });
      options.onPoll?.(request);
      const left = deadline - Date.now();
      if (left <= 0)
        throw new VaultError(
          "approval_timeout",
          `access request ${id} is still waiting for approval by ${describeApprovers(request.approvers)}`,
          { status: 0 },
        );
      await sleep(Math.min(interval, left), options.signal);
      interval = Math.min(interval * 1.5, max);
    }
  }
}
