/**
 * The Vault SDK (core): a fetch-based client that runs in Node (>= 20.3), Workers and browsers.
 * Nothing here imports from Node; certificate pinning lives in the Node-only `sdk/node.ts`.
 *
 * ```ts
 * const vault = new VaultClient({ url: "https://vault.example.com", token: process.env.GHOSTVAULT_TOKEN });
 * await using lease = await vault.lease("openai", { ttl: "10m", purpose: "nightly eval", agent: { name: "claude-code" } });
 * await callOpenAI(lease.value); // revoked when the block ends
 * ```
 *
 * Method groups hang off the client (`vault.credentials`, `vault.acl`, `vault.leases`, `vault.tokens`,
 * `vault.sessions`, `vault.audit`, `vault.admin`, `vault.incident`, `vault.oidc`, `vault.webhooks`,
 * `vault.system`); each is one small file over the
 * shared HTTP core (http.ts), so a new group is one file plus one field here.
 */

import { AclApi } from "./acl";
import { AdminApi, IncidentApi } from "./admin";
import { AuditApi } from "./audit";
import { CiApi } from "./ci";
import { CredentialsApi } from "./credentials";
import { HttpClient, type CallOptions, type HttpClientOptions } from "./http";
import type { Lease } from "./lease";
import { LeasesApi, type CreateLease } from "./leases";
import { AccessRequestsApi, ApprovalPendingError, type WaitOptions } from "./requests";
import { OidcApi } from "./oidc";
import { SessionsApi } from "./sessions";
import { SystemApi } from "./system";
import { TokensApi } from "./tokens";
import { WebhooksApi } from "./webhooks";
import { TeamsApi } from "./teams";
import { CredentialUse, UseApi, type UseOptions } from "./use";
import type { Whoami } from "../worker/contract/schemas/tokens";

/** Options of {@link VaultClient}: base URL, API token, and optionally fetch and retry settings. */
export type VaultClientOptions = HttpClientOptions;

/** Options of {@link VaultClient.lease}: everything a lease request takes but the credential. */
export type LeaseOptions = Omit<CreateLease, "credential">;

/** A client of one vault, authenticated by one API token. */
export class VaultClient {
  /** Credential metadata: list, get, create, update, rotate, versions, delete. */
  readonly credentials: CredentialsApi;
  /** Credential access policies (manager): get, set. */
  readonly acl: AclApi;
  /** Leases: create (returns a {@link Lease}), list, get, renew, revoke, revokeMatching. */
  readonly leases: LeasesApi;
  /** API tokens (admin). */
  readonly tokens: TokensApi;
  /** Session tokens: create, revoke. */
  readonly sessions: SessionsApi;
  /** OIDC trusts for CI federation (admin). */
  readonly oidc: OidcApi;
  /** HMAC-signed webhook lease endpoints (admin). */
  readonly webhooks: WebhooksApi;
  /** CI jobs by OIDC ID token (no API token needed): lease, revoke at the end. */
  readonly ci: CiApi;
  /** Audit log: query, verify, checkpoints, export, publicKey. */
  readonly audit: AuditApi;
  /** Tenant KEK status and rotation (admin). */
  readonly admin: AdminApi;
  /** Incident impact report (admin). */
  readonly incident: IncidentApi;
  /** Health and readiness. */
  readonly system: SystemApi;
  /** Use policies and the ACL check. */
  readonly usePolicies: UseApi;
  /** Teams for ACL rules: list (manager), set, delete (admin). */
  readonly teams: TeamsApi;
  /** Access requests (just-in-time access): list, get, approve, deny, collect, waitForApproval. */
  readonly requests: AccessRequestsApi;
  /** The HTTP core, for calls this SDK does not wrap yet. */
  readonly http: HttpClient;

  /** @throws TypeError if `options.url` is not an absolute URL. */
  constructor(options: VaultClientOptions) {
    this.http = new HttpClient(options);
    this.credentials = new CredentialsApi(this.http);
    this.leases = new LeasesApi(this.http);
    this.tokens = new TokensApi(this.http);
    this.acl = new AclApi(this.http);
    this.sessions = new SessionsApi(this.http);
    this.oidc = new OidcApi(this.http);
    this.webhooks = new WebhooksApi(this.http);
    this.ci = new CiApi(this.http);
    this.audit = new AuditApi(this.http);
    this.admin = new AdminApi(this.http);
    this.incident = new IncidentApi(this.http);
    this.system = new SystemApi(this.http);
    this.usePolicies = new UseApi(this.http);
    this.teams = new TeamsApi(this.http);
    this.requests = new AccessRequestsApi(this.http, this.leases);
  }

  /**
   * A credential to use without holding it: `vault.use("openai").fetch(url, init)` sends the
   * request through the vault, which injects the value and scrubs it from the `Response`.
   */
  use(credential: string, options: UseOptions = {}): CredentialUse {
    return new CredentialUse(this.http, credential, options);
  }

  /** Who the client's token is: tenant, identity, role. */
  whoami(options: CallOptions = {}): Promise<Whoami> {
    return this.tokens.whoami(options);
  }

  /** Liveness of the vault. */
  health(options: CallOptions = {}): Promise<{ ok: true }> {
    return this.system.health(options);
  }

  /**
   * Leases a credential (by name or id). Use with `await using` so it is revoked when the block
   * ends, or call `lease.revoke()` yourself.
   */
  lease(credential: string, options: LeaseOptions = {}, call: CallOptions = {}): Promise<Lease> {
    return this.leases.create({ ...options, credential }, call);
  }

  /**
   * Leases a credential, waiting for approval if an approve rule holds it: `onPending` is told of
   * the request (say who must approve it), then the request is polled until approved and its one
   * lease collected. Rejects with `approval_denied`, `approval_expired` or `approval_timeout`.
   */
  async leaseWithApproval(
    credential: string,
    options: LeaseOptions = {},
    wait: WaitOptions & { onPending?: (error: ApprovalPendingError) => void } = {},
  ): Promise<Lease> {
    try {
      return await this.lease(credential, options, wait);
    } catch (error) {
      if (!(error instanceof ApprovalPendingError)) throw error;
      wait.onPending?.(error);
      // The lease request's Idempotency-Key belongs to it alone: reused on the collection it would be refused.
      const { idempotencyKey: _key, ...rest } = wait;
      const approved = await this.requests.waitForApproval(error.accessRequest.id, rest);
      return this.requests.collect(approved.id, rest);
    }
  }

  /**
   * Leases a credential, runs `fn` with the lease, and revokes it in `finally`, whether `fn`
   * returns or throws. If both `fn` and the revocation fail, `fn`'s error is thrown and the
   * revocation error is attached as its `cause` when it has none.
   */
  async withLease<T>(
    credential: string,
    fn: (lease: Lease) => Promise<T> | T,
    options: LeaseOptions = {},
    call: CallOptions = {},
  ): Promise<T> {
    const lease = await this.lease(credential, options, call);
    let result: T;
    try {
      result = await fn(lease);
    } catch (error) {
      try {
        await lease[Symbol.asyncDispose]();
      } catch (revokeError) {
        if (error instanceof Error && error.cause === undefined) error.cause = revokeError;
      }
      throw error;
    }
    await lease[Symbol.asyncDispose]();
    return result;
  }
}

export { VaultError, isVaultError, type ClientErrorCode, type VaultErrorCode, type VaultErrorOptions } from "./errors";
export {
  isRetryable,
  type ApiRequest,
  type CallOptions,
  type FetchLike,
  type HttpClient,
  type Method,
  type OpAnswer,
  type OpParts,
} from "./http";
export { parseRetryAfter, type RetryOptions } from "./retry";
export { Lease } from "./lease";
export {
  AccessRequestsApi,
  ApprovalPendingError,
  describeApprovers,
  type ListAccessRequests,
  type WaitOptions,
} from "./requests";
export type { AccessRequest } from "../worker/contract/schemas/access-requests";
export { CredentialUse, type SetUsePolicy, type UseApi, type UseOptions } from "./use";
export type { UsePolicy, UseResponse } from "../worker/contract/schemas/use";
export type { CreateLease, Duration, ListLeases, RevokeMatching, LeasesApi } from "./leases";
export type { CreateCredential, CredentialsApi, ListCredentials, UpdateCredential } from "./credentials";
export type { CreateToken, ListTokens, TokensApi } from "./tokens";
export type { AuditApi, AuditPublicKey, AuditQuery, CheckpointList } from "./audit";
export type { AdminApi, ImpactQuery, ImpactReport, IncidentApi } from "./admin";
export type { SystemApi } from "./system";
export type { SetTeam, TeamsApi } from "./teams";
export type { Team } from "../worker/contract/schemas/teams";
export type { AclApi, SetAcl } from "./acl";
export type { CreateSession, SessionsApi } from "./sessions";
export type { CreateOidcTrust, OidcApi, OidcTrust } from "./oidc";
export type { CreatedWebhook, CreateWebhook, Webhook, WebhooksApi } from "./webhooks";
export type { CiApi, CiLeaseRequest, CiLeases, CiRevoked } from "./ci";
export type { Acl, AclRule } from "../worker/contract/schemas/acl";
export {
  verifyAuditExport,
  type AuditExportVerification,
  type AuditVerifierKey,
  type VerifyAuditExportOptions,
} from "./audit-verify";
export {
  verifyConsistencyProof,
  verifyInclusionProof,
  verifyProofCheckpoint,
  type ProofCheckpointResult,
} from "./audit-proof";
export {
  checkAuditHead,
  type AuditHeadCheck,
  type AuditHeadSource,
  type CheckAuditHeadOptions,
} from "./audit-monitor";
export {
  AuditForkError,
  MemoryCheckpointMemory,
  type CheckpointMemory,
  type RememberedCheckpoint,
} from "./audit-memory";
export {
  checkWitnesses,
  parseWitnessPolicy,
  type ParsedWitnessPolicy,
  type WitnessCheck,
  type WitnessPolicy,
} from "./audit-witness";
export {
  AuditExportLineSchema,
  splitLines,
  type AuditExportHeader,
  type AuditExportLine,
  type TextSource,
} from "./audit-export";
export type { Credential, CredentialPage, CredentialVersion } from "../worker/contract/schemas/credentials";
export type { Agent, Lease as LeaseInfo, LeasePage } from "../worker/contract/schemas/leases";
export type { CreatedToken, Token, TokenPage, Whoami } from "../worker/contract/schemas/tokens";
export type { AuditPage, AuditVerify, ConsistencyProof, InclusionProof } from "../worker/contract/schemas/audit";
export type { KekRotateResult, KekStatus } from "../worker/contract/schemas/admin";
