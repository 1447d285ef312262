import type { Role } from "../worker/contract/roles";
import type { TokenKind } from "../worker/core/auth/tokens";
import type { Config } from "../worker/contract/config";
import type { TenantDb } from "../worker/core/db/tenant-db";
import type { KmsProvider } from "../worker/core/kms/provider";
import type { KekCache } from "./kek/cache";
import type { CredentialCache } from "./credential-cache";
import type { FaultHook } from "./outbox/faults";
import type { MetricsRecorder } from "./metrics/recorder";
import type { OutboxState } from "./outbox/outbox";
import type { AuditSigners } from "../worker/core/audit/signing-key";
import type { JwksCache } from "../worker/core/federation/jwks";
import type { WitnessClient } from "./audit/witnesses";
import type { AuditState } from "./audit/audit-state";

/** Who is calling, as established by the TenantVault from the token. */
export interface Actor {
  /** The token's id, or `oidc:<trust id>` / `webhook:<id>` for CI callers, or the operator token's id. */
  tokenId: string;
  kind: TokenKind | "oidc" | "webhook" | "operator";
  role: Role;
  identity: string;
  expiresAt: number | null;
  /** The request this actor is making, for logs and audit entries. */
  requestId: string;
}

/**
 * Everything an operation of a bootstrapped tenant needs. Built by the TenantVault; operations
 * receive it instead of reaching into the Durable Object, which keeps them plain functions.
 */
export interface VaultContext {
  readonly tenantId: string;
  readonly config: Config;
  readonly storage: DurableObjectStorage;
  readonly sql: SqlStorage;
  readonly db: TenantDb;
  readonly kms: KmsProvider;
  readonly keks: KekCache;
  /** The lease path's credential reads; invalidated after every credential write. */
  readonly credentials: CredentialCache;
  /** Per-credential write locks and the pending count of the D1 outbox (outbox/outbox.ts). */
  readonly outbox: OutboxState;
  /** What the object remembers of its own audit log between calls (audit/audit-state.ts). */
  readonly audit: AuditState;
  /** Test-only fault injection; inert unless a test arms it (outbox/faults.ts). */
  readonly faults: FaultHook;
  /** The object's counters (metrics/recorder.ts): audit append failures and integrity violations count here. */
  readonly metrics: MetricsRecorder;
  readonly pepper: Promise<CryptoKey>;
  /** Signs audit checkpoints. */
  readonly signer: Promise<AuditSigners>;
  /** The configured audit witnesses (AUDIT_WITNESSES), each Merkle checkpoint is submitted to. */
  readonly witnesses: readonly WitnessClient[];
  /** Per-tenant key for `hmac-sha256:` fingerprints in audit entries. */
  readonly auditKey: Uint8Array;
  /** OIDC discovery and signing keys, cached, with a rate-limited refetch and a per-tenant fetch budget; the only way this object fetches from outside. */
  readonly jwks: JwksCache;
  /** Milliseconds since the epoch; injectable so expiry can be tested without waiting. */
  now(): number;
  /** Ensures the Durable Object's alarm fires no later than `at`. */
  scheduleAlarm(at: number): Promise<void>;
}

/** Milliseconds to the API's timestamp form. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Nullable milliseconds to the API's timestamp form. */
export function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : iso(ms);
}
