import { DurableObject } from "cloudflare:workers";
import { z } from "zod";
import { roleAtLeast, type Role } from "../worker/contract/roles";
import {
  isOperation,
  OPERATION_TABLE,
  OPERATIONS,
  parseOperationInput,
  type InputOf,
  type Operation,
  type OperationSpec,
  type RawInput,
} from "../worker/contract/operations";
import { loadConfig } from "../worker/contract/config";
import { describeZodError, VaultError } from "../worker/contract/errors";
import type { Call, Outcome } from "../worker/contract/rpc";
import { OidcLeaseRequestSchema, OidcRevokeRequestSchema } from "../worker/contract/schemas/federation";
import { isJsonMediaType } from "../worker/contract/media-type";
import { BootstrapSchema, type BootstrapResult } from "../worker/contract/schemas/tenants";
import { afterCall } from "./after-call";
import { checkpointIfDue } from "./audit/checkpoints";
import { SourceIpSchema, withRequestSource } from "./audit/refusals";
import { drainPending, earliestDeadline, runAlarm } from "./alarm";
import { buildContext } from "./build-context";
import { guard, parseInput } from "./errors";
import { authenticate } from "./ops/auth";
import { ciRefusal } from "./ops/ci-leases";
import { idempotent, parseIdempotencyKey } from "./idempotency";
import { HANDLERS, type Handler, type OpResult } from "./ops";
import * as oidc from "./ops/oidc";
import * as webhooks from "./ops/webhooks";
import type { SignedRequest } from "./ops/webhooks";
import { bootstrapTenant } from "./ops/tenant";
import { actForOperator } from "./ops/operator";
import type { OperatorProof } from "../worker/core/operator/proof";
import { UseLimiter } from "./ops/use";
import { getMeta } from "./storage/meta";
import { warmKekFor } from "./kek/warm";
import { migrate } from "./storage/migrations";
import {
  benchAuditScan,
  benchInsert,
  benchMerkleSkip,
  benchSeedAudit,
  type AuditScan,
  ClockSchema,
  requireTestHooks,
  SeedSchema,
  seedLeases,
} from "./test-hooks";
import { FaultHook, FaultsSchema } from "./outbox/faults";
import { METRICS_READ, MetricsRecorder, type DataPointSink } from "./metrics/recorder";
import { readMetrics } from "./metrics/store";
import type { TenantMetrics } from "../worker/contract/metrics";
import type { Actor, VaultContext } from "./vault-context";
import { SuspensionFlag } from "./ops/suspension";

/**
 * The single authority for one tenant (DESIGN.md "Shape"): authenticates tokens against its own
 * storage, authorises by role, issues leases and appends the audit chain in the same
 * transaction, holds the unwrapped KEK cache, and is the only writer of the tenant's D1 rows.
 * Public methods are RPC entry points; everything else is #private, unreachable over RPC.
 */
export class TenantVault extends DurableObject<Env> {
  #context: VaultContext | undefined;
  /** The alarm time as last set, so the lease hot path sets it only when a deadline is earlier. */
  #alarmAt: number | null = null;
  /** Set only through the TEST_HOOKS-gated `setClockForTest`: a fixed clock, so expiry is tested without waiting. */
  #fixedNow: number | null = null;
  /** Per-minute budgets of proxied calls (ops/use.ts). */
  readonly #useLimiter = new UseLimiter();
  /** The tenant's suspension, cached: one boolean read per request (ops/suspension.ts). */
  readonly #suspension = new SuspensionFlag();
  /** Alarm runs in a row with a failed step: the retry backoff's exponent. */
  readonly #backoff = { failures: 0 };
  #tenant: string | undefined;
  /** Test runs only: injected D1 failures and aborts (outbox/faults.ts); inert otherwise. */
  #faults = new FaultHook(
    (reason) => this.ctx.abort(reason),
    () => this.ctx.storage.sync(),
  );
  /** Counters flushed once per request (metrics/recorder.ts). */
  readonly #metrics = new MetricsRecorder();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    void ctx
      .blockConcurrencyWhile(async () => {
        migrate(ctx.storage);
        this.#alarmAt = await ctx.storage.getAlarm();
      })
      // Outside blockConcurrencyWhile: pending D1 changes wait for no request (their reads wait for them).
      .then(() => this.#onStart());
  }

  /** Creates this tenant and its first admin token. The Worker has checked the bootstrap secret. */
  async bootstrap(tenantId: string, requestId: string, input: unknown): Promise<Outcome<BootstrapResult>> {
    const started = Date.now();
    const outcome = await guard(requestId, () =>
      bootstrapTenant(this.#contextFor(tenantId), parseInput(BootstrapSchema, input), requestId),
    );
    this.#observe("tenant.bootstrap", outcome, started);
    return outcome;
  }

  /**
   * The operator's view of this tenant's counters (issue 13 §4), or null for a tenant never
   * bootstrapped. Counts and times only; the Worker has authenticated the operator.
   */
  metricsSnapshot(): Promise<Outcome<TenantMetrics | null>> {
    return guard("metrics", async () => {
      const tenantId = this.#tenantId();
      if (tenantId === undefined) return null;
      const now = this.#fixedNow ?? Date.now();
      // Counts not stored yet (waiting for their save, or an operator's fleet action) are stored first.
      this.#metrics.flush(this.ctx.storage, tenantId, now, this.#sink(), METRICS_READ);
      return readMetrics(this.ctx.storage.sql, tenantId, now);
    });
  }

  /**
   * The one RPC entry of every authenticated operation (worker/contract/operations): authenticates
   * the token, checks the operation's least role, then validates the request's parts against the
   * operation's schemas (the only place they are validated, so 401/403 always come before 400) and
   * runs its handler (durable-objects/ops/index.ts).
   */
  op<K extends Operation>(name: K, call: Call<RawInput | null>): Promise<Outcome<OpResult<K>>> {
    // The name comes over RPC: an unknown one is refused before anything runs or is recorded.
    if (!isOperation(name))
      return Promise.resolve({
        ok: false as const,
        error: { code: "bad_request" as const, message: "unknown operation" },
      });
    const spec: OperationSpec = OPERATION_TABLE[name];
    const handler = HANDLERS[name] as Handler<K>;
    const send = this.#send;
    return this.#call(call, name, OPERATIONS[name], (ctx, actor) => {
      const raw = call.input ?? {};
      const input = parseOperationInput(spec, raw) as InputOf<K>;
      return () => handler(ctx, actor, input, { send, limiter: this.#useLimiter }, raw) as OpResult<K>;
    });
  }

  /** The proxy's fetch. Tests send upstream calls to a local Worker through this binding; config.ts refuses it in production. */
  get #send(): (r: Request) => Promise<Response> {
    const upstream = (this.env as { USE_TEST_UPSTREAM?: Fetcher }).USE_TEST_UPSTREAM;
    return upstream ? (r: Request) => upstream.fetch(r) : (r: Request) => fetch(r);
  }

  /** CI by OIDC ID token: no vault token; the trust policies of this tenant decide. */
  oidcLeases(requestId: string, input: unknown, ip?: string | null) {
    return this.#unauthenticated(requestId, { ip, route: "ci.oidc", metric: "ci.oidc.leases" }, (ctx) =>
      oidc.oidcLeases(ctx, requestId, parseInput(OidcLeaseRequestSchema, input)),
    );
  }

  /** CI job's end: revoke its leases, proven by a fresh OIDC ID token. */
  oidcRevokeLeases(requestId: string, input: unknown, ip?: string | null) {
    return this.#unauthenticated(requestId, { ip, route: "ci.oidc" }, (ctx) =>
      oidc.oidcRevokeLeases(ctx, requestId, parseInput(OidcRevokeRequestSchema, input)),
    );
  }

  /** CI by signed webhook: the Worker passes the headers and the raw body it received. */
  webhookLeases(requestId: string, signed: SignedRequest, ip?: string | null) {
    const parsed = webhooks.SignedRequestSchema.safeParse(signed);
    if (!parsed.success)
      return guard(requestId, () =>
        Promise.reject(new VaultError("validation_failed", describeZodError(parsed.error, "request"))),
      );
    // A wrong media type is answered 415 whether or not the tenant exists, so it reveals nothing.
    if (!isJsonMediaType(parsed.data.contentType)) {
      return this.#unauthenticated(
        requestId,
        { ip, route: "ci.webhook", metric: "ci.webhook.leases" },
        (ctx) => webhooks.refuseMediaType(ctx, requestId, parsed.data),
        webhooks.mediaTypeRefusal,
      );
    }
    return this.#unauthenticated(requestId, { ip, route: "ci.webhook", metric: "ci.webhook.leases" }, (ctx) =>
      webhooks.webhookLeases(ctx, requestId, parsed.data),
    );
  }

  /**
   * An operator's fleet action on this tenant (issue 13 §3). Not reachable with any tenant token:
   * only the OperatorPlane object calls it, with a proof it signed for this tenant, this action and
   * a job, minutes old at most (worker/core/operator/proof.ts). The proof is checked before the
   * action is even parsed, so a forged call learns nothing from validation errors.
   */
  operatorAction(proof: OperatorProof, input: unknown) {
    const requestId = typeof proof?.payload?.job_id === "string" ? proof.payload.job_id.slice(0, 64) : "operator";
    return guard(requestId, async () => {
      const tenantId = this.#tenantId();
      if (tenantId === undefined) throw new VaultError("not_found", "tenant not bootstrapped");
      return actForOperator(this.#contextFor(tenantId), proof, input).finally(() => this.#suspension.forget());
    });
  }

  // Test and benchmark hooks (durable-objects/test-hooks.ts). Each checks the one gate, TEST_HOOKS,
  // first thing; production configuration refuses TEST_HOOKS, so there they refuse every call.

  /** Test hook: bulk-creates leases (see test-hooks.ts); needs an admin token. */
  seedLeases(call: Call<unknown>) {
    return this.#call(call, "leases.seed", "admin", (ctx, a) => {
      const input = parseInput(SeedSchema, call.input);
      return () => seedLeases(ctx, a, input);
    });
  }

  /** Bench hook, baseline `do-insert`: one SQLite insert, nothing else. */
  async benchInsert(): Promise<number> {
    requireTestHooks(loadConfig(this.env), "benchInsert");
    return benchInsert(this.ctx.storage.sql);
  }

  /** Bench hook (bench/merkle.mjs): switches this tenant's Merkle update off (the lease baseline) or on. */
  async benchMerkleSkip(skip: boolean): Promise<void> {
    requireTestHooks(loadConfig(this.env), "benchMerkleSkip");
    const tenantId = this.#tenantId();
    if (tenantId === undefined) throw new VaultError("not_found", "no such tenant");
    benchMerkleSkip(tenantId, z.boolean().parse(skip));
  }

  /** Bench hook (bench/merkle.mjs): appends `count` synthetic audit rows and their tree leaves. */
  async benchSeedAudit(count: number): Promise<{ size: number }> {
    requireTestHooks(loadConfig(this.env), "benchSeedAudit");
    return benchSeedAudit(this.ctx.storage, count);
  }

  /** Bench hook (bench audit verification): reads and SHA-256s audit rows from..to, the verify floor. */
  async benchAuditScan(fromSeq: number, toSeq: number): Promise<AuditScan> {
    requireTestHooks(loadConfig(this.env), "benchAuditScan");
    return benchAuditScan(this.ctx.storage.sql, fromSeq, toSeq);
  }

  /** Test hook: fixes this object's clock (null = real time). */
  async setClockForTest(now: number | null): Promise<void> {
    requireTestHooks(loadConfig(this.env), "setClockForTest");
    this.#fixedNow = ClockSchema.parse(now);
  }

  /** Test runs only: arms (null clears) injected faults. Refused unless the config allows test hooks. */
  async setFaultsForTest(faults: unknown): Promise<void> {
    requireTestHooks(loadConfig(this.env), "setFaultsForTest");
    const parsed = FaultsSchema.safeParse(faults);
    if (!parsed.success) throw new Error(describeZodError(parsed.error, "faults"));
    this.#faults.arm(parsed.data);
  }

  /**
   * Start-up step: pending D1 changes, and an alarm for leases already due or a KEK sweep in progress
   * (an alarm run that died mid-batch is not lost if the platform's own retry is).
   */
  async #onStart(): Promise<void> {
    const sql = this.ctx.storage.sql;
    // Only without an alarm: the deadline scan is half a dozen queries a cold object need not prepare.
    if (this.#alarmAt === null && this.#tenantId() !== undefined) {
      // A KEK sweep in progress resumes at once; its alarm may have died with the previous instance.
      const next = getMeta(sql, "kek_sweep") ? Date.now() : earliestDeadline(sql);
      if (next !== null) await this.ctx.storage.setAlarm(next).then(() => (this.#alarmAt = next));
    }
    await this.#drainOutbox();
  }

  /** Applies pending D1 changes (alarm.ts `drainPending`). */
  async #drainOutbox(): Promise<void> {
    const tenantId = this.#tenantId();
    if (tenantId !== undefined) await drainPending(this.#contextFor(tenantId));
  }

  /** Background work (alarm.ts `runAlarm`); then this run is counted like a request. */
  override async alarm(): Promise<void> {
    this.#alarmAt = null;
    const tenantId = this.#tenantId();
    if (tenantId === undefined) return;
    const ctx = this.#contextFor(tenantId);
    const failed = await runAlarm(ctx, tenantId, this.#faults, this.#backoff);
    // KMS calls of a KEK sweep, audit failures of expiry: counted like a request's.
    this.#metrics.flush(this.ctx.storage, tenantId, ctx.now(), this.#sink(), {
      operation: "alarm",
      code: failed ? "failed" : "ok",
    });
  }

  /**
   * Authenticates, authorises by the least role `need`, then `prepare` validates the input and
   * returns the operation to run (at most once per Idempotency-Key); audits refusals.
   */
  async #call<T>(
    call: Call<unknown>,
    op: string,
    need: Role,
    prepare: (ctx: VaultContext, actor: Actor) => () => T | Promise<T>,
  ): Promise<Outcome<T>> {
    let actor: Actor | undefined;
    let ctx: VaultContext | undefined;
    const started = Date.now();
    const source = { ip: SourceIpSchema.parse(call.ip), route: op };
    const outcome = await guard(call.requestId, () =>
      withRequestSource(source, async () => {
        const tenantId = this.#tenantId();
        // A token naming a tenant that was never bootstrapped gets the same 401 as a bad token.
        if (tenantId === undefined) throw new VaultError("unauthorized", "invalid, expired or revoked token");
        ctx = this.#contextFor(tenantId);
        actor = await authenticate(ctx, call.token, call.requestId);
        this.#suspension.check(this.ctx.storage.sql);
        if (!roleAtLeast(actor.role, need))
          throw new VaultError("forbidden", `this operation needs role ${need} or above`);
        const [context, caller] = [ctx, actor];
        warmKekFor(op, context);
        // The key first, then the input, as the Worker read them before it stopped validating; both
        // before the idempotency row, so bad input is never matched against (or stored as) an outcome.
        const key = parseIdempotencyKey(call.idempotencyKey);
        const run = prepare(context, caller);
        if (key === undefined) return run();
        return idempotent(context, caller, { key, token: call.token, operation: op, input: call.input }, async () =>
          run(),
        );
      }),
    );
    if (ctx && actor) await afterCall(ctx, actor, op, outcome);
    this.#observe(op, outcome, started);
    return outcome;
  }

  /**
   * For CI entry points that authenticate by their own means (OIDC, webhook signature). An unknown
   * tenant gets the refusal every refused CI caller gets (`unknownTenant`), so none can tell it apart.
   */
  async #unauthenticated<T>(
    requestId: string,
    from: { ip?: string | null; route: string; metric?: string },
    fn: (ctx: VaultContext) => Promise<T>,
    unknownTenant: () => VaultError = ciRefusal,
  ): Promise<Outcome<T>> {
    const started = Date.now();
    const source = { ip: SourceIpSchema.parse(from.ip), route: from.route };
    const outcome = await guard(requestId, () =>
      withRequestSource(source, async () => {
        const tenantId = this.#tenantId();
        if (tenantId === undefined) throw unknownTenant();
        this.#suspension.check(this.ctx.storage.sql);
        return fn(this.#contextFor(tenantId));
      }),
    );
    if (this.#context)
      await checkpointIfDue(this.#context).catch((error: unknown) =>
        console.error("checkpoint failed", { request_id: requestId, error: String(error) }),
      );
    this.#observe(from.metric ?? from.route, outcome, started);
    return outcome;
  }

  /**
   * Counts one request and flushes (metrics/recorder.ts). Latency is real time, not the test clock.
   * Nothing is stored for a tenant never bootstrapped: probes with made-up tenant ids leave no rows.
   */
  #observe(operation: string, outcome: Outcome<unknown>, startedAt: number): void {
    this.#metrics.request(operation, outcome, Date.now() - startedAt);
    const tenantId = this.#tenantId();
    if (tenantId === undefined) return this.#metrics.discard();
    this.#metrics.flush(this.ctx.storage, tenantId, this.#fixedNow ?? Date.now(), this.#sink(), {
      operation,
      code: outcome.ok ? "ok" : outcome.error.code,
    });
  }

  /** Analytics Engine, or the in-repo stand-in tests bind (config.ts refuses it in production). */
  #sink(): DataPointSink | undefined {
    return (this.env as { METRICS_TEST_SINK?: DataPointSink }).METRICS_TEST_SINK ?? this.env.METRICS;
  }

  /** The tenant's id, read from storage until it is set: nothing removes or changes it after bootstrap. */
  #tenantId(): string | undefined {
    return (this.#tenant ??= getMeta(this.ctx.storage.sql, "tenant_id"));
  }

  #contextFor(tenantId: string): VaultContext {
    if (this.#context?.tenantId === tenantId) return this.#context;
    this.#context = buildContext({
      env: this.env,
      storage: this.ctx.storage,
      tenantId,
      now: () => this.#fixedNow ?? Date.now(),
      faults: this.#faults,
      metrics: this.#metrics,
      scheduleAlarm: async (requested) => {
        // Under a test's fixed clock, deadlines computed from it can lie in the real past: such an
        // alarm fires at once, finds nothing due by the fixed clock and re-arms, forever. Keep it at
        // least a second away (tests drive alarms themselves); real time is never changed.
        const at = this.#fixedNow === null ? requested : Math.max(requested, Date.now() + 1000);
        if (this.#alarmAt !== null && this.#alarmAt <= at) return;
        await this.ctx.storage.setAlarm(at);
        this.#alarmAt = at;
      },
    });
    return this.#context;
  }
}
