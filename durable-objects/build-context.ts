import { importPepper } from "../worker/core/auth/tokens";
import { allowsTestHooks, loadConfig, type Config } from "../worker/contract/config";
import { getKek } from "../worker/core/db/keks";
import { tenantDb } from "../worker/core/db/tenant-db";
import { createKmsProvider, KMS_EMULATOR_BINDINGS } from "../worker/core/kms";
import { deriveAuditKey } from "./audit/append";
import { auditSigners, type AuditSigners } from "../worker/core/audit/signing-key";
import { KekCache } from "./kek/cache";
import { deleteKekCopies, getKekCopy, putKekCopy } from "./storage/kek-copies";
import { getMeta } from "./storage/meta";
import { CredentialCache, type CredentialCopies } from "./credential-cache";
import { deleteCredentialCopies, getCredentialCopy, putCredentialCopy } from "./storage/credential-copies";
import { getHead } from "./storage/credential-heads";
import { JwksCache } from "../worker/core/federation/jwks";
import { FaultHook, faultyD1 } from "./outbox/faults";
import { OutboxState } from "./outbox/outbox";
import { countedKms, MetricsRecorder } from "./metrics/recorder";
import type { VaultContext } from "./vault-context";
import { witnessClient } from "./audit/witnesses";
import { newAuditState } from "./audit/audit-state";

/** What the TenantVault supplies to build its context. */
export interface ContextDeps {
  env: Env;
  storage: DurableObjectStorage;
  tenantId: string;
  now: () => number;
  scheduleAlarm: (at: number) => Promise<void>;
  /** The object's fault hook; a context built outside an object gets an inert one. */
  faults?: FaultHook;
  /** The object's counters; a context built outside an object gets its own, never flushed. */
  metrics?: MetricsRecorder;
}

/**
 * Keys made from the Worker's own secrets alone (the token pepper, the audit signing key), never
 * from a tenant's: the same in every object of the isolate, so imported once and shared, instead
 * of once per object (an HMAC import, four Ed25519 imports and two exports on every cold tenant's
 * first request; issue 16 goals 4 and 5). Keyed by the parsed config, which loadConfig caches per
 * env. Only resolved keys are shared: a promise started in one object's request is never awaited
 * in another's. Tenant keys (KEK, DEKs, the tenant's audit HMAC key) stay per object.
 */
const ISOLATE_KEYS = new WeakMap<Config, { pepper?: CryptoKey; signer?: AuditSigners }>();

function isolateKeys(config: Config): { pepper: Promise<CryptoKey>; signer: Promise<AuditSigners> } {
  let kept = ISOLATE_KEYS.get(config);
  if (kept === undefined) ISOLATE_KEYS.set(config, (kept = {}));
  const slot = kept;
  return {
    pepper: slot.pepper
      ? Promise.resolve(slot.pepper)
      : importPepper(config.TOKEN_PEPPER).then((key) => (slot.pepper = key)),
    signer: slot.signer
      ? Promise.resolve(slot.signer)
      : auditSigners(config.AUDIT_SIGNING_KEY, config.AUDIT_HOST).then((signers) => (slot.signer = signers)),
  };
}

/** The credential cache's stored copies; one is kept only while it is the object's head version. */
function credentialCopies(sql: SqlStorage, tenantId: string, now: () => number): CredentialCopies {
  return {
    get: (ref) => getCredentialCopy(sql, tenantId, ref, now()),
    keep: (value) => {
      const head = getHead(sql, value.credential.id);
      if (head && head.deleted_at === null && head.current_version === value.current.version)
        putCredentialCopy(sql, value, now());
    },
    drop: (credentialId) => deleteCredentialCopies(sql, credentialId),
  };
}

/** Builds the context of a bootstrapped tenant: config, D1 scope, KMS, KEK cache, keys. */
export function buildContext(deps: ContextDeps): VaultContext {
  const { env, storage, tenantId, now } = deps;
  const faults =
    deps.faults ??
    new FaultHook(
      () => undefined,
      async () => undefined,
    );
  const config = loadConfig(env);
  // Only a test configuration routes D1 through the fault hook; production uses the binding itself.
  const db = tenantDb(allowsTestHooks(config) ? faultyD1(env.DB, faults) : env.DB, tenantId);
  // The emulator binding is present only in development and tests; config.ts refuses it in production.
  const emulators = env as unknown as Record<string, Fetcher | undefined>;
  const emulator = emulators[KMS_EMULATOR_BINDINGS[config.kms.provider]];
  // During a root-key move the previous root may be another provider, with its own emulator.
  const previous = config.kms.previous && emulators[KMS_EMULATOR_BINDINGS[config.kms.previous.provider]];
  const metrics = deps.metrics ?? new MetricsRecorder();
  const kms = countedKms(createKmsProvider(config.kms, emulator, previous), metrics, now);
  const keks = new KekCache({
    tenantId,
    kms,
    now,
    ttlMs: config.KEK_CACHE_TTL_SECONDS * 1000,
    loadWrapped: async (version) => (await getKek(db, version))?.wrappedKek ?? undefined,
    copies: {
      get: (version) => getKekCopy(storage.sql, version),
      keep: (version, wrapped) => {
        // A version whose destruction is recorded is never copied back from D1 before D1 erases it.
        if (!getMeta(storage.sql, "kek_destroy_pending")?.includes(version))
          putKekCopy(storage.sql, version, wrapped, now());
      },
      drop: (version) => deleteKekCopies(storage.sql, [version]),
    },
  });
  // Tests route OIDC discovery and JWKS fetches to a local issuer Worker; config.ts refuses that binding in production.
  const issuer = (env as { OIDC_TEST_ISSUER?: Fetcher }).OIDC_TEST_ISSUER;
  const fetchExternal = issuer
    ? (input: string, init?: RequestInit) => issuer.fetch(input, init)
    : (input: string, init?: RequestInit) => fetch(input, init);
  // The only outbound fetch of the object, behind the URL guard (federation/outbound.ts) and the
  // cache's budget. Insecure URLs only by explicit setting, which config.ts refuses in production.
  const jwks = new JwksCache({ fetch: fetchExternal, now, allowInsecure: config.OUTBOUND_ALLOW_INSECURE });
  return {
    tenantId,
    jwks,
    config,
    storage,
    sql: storage.sql,
    db,
    kms,
    keks,
    credentials: new CredentialCache(now, credentialCopies(storage.sql, tenantId, now)),
    outbox: new OutboxState(),
    audit: newAuditState(),
    faults,
    metrics,
    ...isolateKeys(config),
    witnesses: config.AUDIT_WITNESSES.map((w) => witnessClient(w, env, config.AUDIT_WITNESS_TIMEOUT_MS)),
    auditKey: deriveAuditKey(config.TOKEN_PEPPER, tenantId),
    now,
    scheduleAlarm: deps.scheduleAlarm,
  };
}
