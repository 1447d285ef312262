import { DurableObject } from "cloudflare:workers";
import { z } from "zod";
import { loadConfig } from "../../worker/contract/config";
import type { Outcome } from "../../worker/contract/rpc";
import {
  JobQuerySchema,
  MintOperatorTokenSchema,
  OperatorLogQuerySchema,
  OperatorTokenIdParamsSchema,
  StartJobSchema,
} from "../../worker/contract/schemas/operator";
import { OPERATOR_NAME, parseOperatorToken, type OperatorActor } from "../../worker/core/operator/tokens";
import { guard, parseInput } from "../errors";
import { applyMigrations } from "../storage/migrations";
import { requireTestHooks } from "../test-hooks";
import { disclosureDrafts } from "./disclosure";
import { createJob, listJobs, readJob, runBatch } from "./jobs";
import { OPERATOR_MIGRATIONS, readOperatorLog, verifyOperatorLog } from "./storage";
import { authenticateNamed, listNamed, mintNamed, operatorUnauthorized, revokeNamed, type TokenStore } from "./tokens";

const ActorSchema = z.strictObject({
  name: z.string().regex(OPERATOR_NAME),
  tokenId: z.string().regex(/^(root|[0-9a-f]{20})$/),
  requestId: z.string().min(1).max(128),
});

/**
 * The operator plane's authority (issue 13 §3): named operator tokens, the hash-chained operator
 * log and fleet jobs, in one object for the whole deployment (operator traffic is small). Only the
 * Worker reaches it, after checking an operator token (worker/middleware/operator-auth.ts); it
 * signs a proof for every tenant action it sends (worker/core/operator/proof.ts), so tenant
 * objects act only for it. Public methods are RPC entry points; the rest is #private.
 */
export class OperatorPlane extends DurableObject<Env> {
  /** The batch in progress, so a test's alarm call and the runtime's never run two at once. */
  #running: Promise<void> | null = null;
  /** Test runs only (TEST_HOOKS): abort the object after the next batch's tenant calls, before saving results. */
  #crashAfterCalls = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    void ctx.blockConcurrencyWhile(async () => {
      applyMigrations(ctx.storage, OPERATOR_MIGRATIONS);
      // A job whose alarm died with a previous instance resumes.
      const running = ctx.storage.sql
        .exec<{ n: number }>("SELECT count(*) AS n FROM jobs WHERE state = 'running'")
        .one().n;
      if (running > 0 && (await ctx.storage.getAlarm()) === null)
        await ctx.storage.setAlarm(Date.now() + this.#config().OPERATOR_JOB_PAUSE_MS);
    });
  }

  /** Checks a named operator token (`gvop_<id>_…`); the root token is checked by the Worker against its hash. */
  authenticate(raw: string): Promise<Outcome<{ name: string; tokenId: string }>> {
    return this.#guard("auth", async () => {
      const parsed = typeof raw === "string" ? parseOperatorToken(raw) : null;
      if (!parsed || parsed.id === "root") throw operatorUnauthorized();
      return authenticateNamed(this.#tokens(), parsed.id, raw);
    });
  }

  mintToken(actor: OperatorActor, input: unknown) {
    return this.#act(actor, async (a) => mintNamed(this.#tokens(), a, this.#parse(MintOperatorTokenSchema, input)));
  }
  listTokens(actor: OperatorActor) {
    return this.#act(actor, async () => listNamed(this.#tokens()));
  }
  revokeToken(actor: OperatorActor, params: unknown) {
    return this.#act(actor, async (a) =>
      revokeNamed(this.#tokens(), a, this.#parse(OperatorTokenIdParamsSchema, params).id),
    );
  }

  /** Starts a fleet job; its batches run in this object's alarm. */
  startJob(actor: OperatorActor, input: unknown) {
    return this.#act(actor, async (a) => {
      const id = await createJob(this.ctx.storage, this.env.DB, a, this.#parse(StartJobSchema, input), Date.now());
      await this.#arm();
      return readJob(this.ctx.storage.sql, id, { limit: 0 });
    });
  }

  getJob(actor: OperatorActor, id: string, query: unknown) {
    return this.#act(actor, async () => readJob(this.ctx.storage.sql, id, this.#parse(JobQuerySchema, query)));
  }
  listJobs(actor: OperatorActor) {
    return this.#act(actor, async () => listJobs(this.ctx.storage.sql, 100));
  }

  /** Disclosure drafts (Markdown and JSON) for every affected tenant of a finished impact job. */
  disclosures(actor: OperatorActor, id: string) {
    return this.#act(actor, async () => {
      // Every tenant of the job, page by page: a fleet-wide incident may touch thousands.
      const first = readJob(this.ctx.storage.sql, id, { limit: 500 });
      const tenants = [...first.tenants];
      for (let after = first.next_after; after !== null; ) {
        const page = readJob(this.ctx.storage.sql, id, { after, limit: 500 });
        tenants.push(...page.tenants);
        after = page.next_after;
      }
      return disclosureDrafts({ ...first, tenants });
    });
  }

  /** A page of the operator log and whether the whole chain verifies. */
  readLog(actor: OperatorActor, query: unknown) {
    return this.#act(actor, async () => {
      const q = this.#parse(OperatorLogQuerySchema, query);
      return {
        ...readOperatorLog(this.ctx.storage.sql, q.after, q.limit),
        chain: verifyOperatorLog(this.ctx.storage.sql),
      };
    });
  }

  /** Test hook: abort the object after the tenant calls of the next batch, before their results are saved. */
  async crashAfterCallsForTest(): Promise<void> {
    requireTestHooks(this.#config(), "crashAfterCallsForTest");
    this.#crashAfterCalls = true;
  }

  /** Runs one batch of the oldest running job, then re-arms while work is left. */
  override async alarm(): Promise<void> {
    if (this.#running) return this.#running;
    this.#running = this.#batch().finally(() => (this.#running = null));
    return this.#running;
  }

  async #batch(): Promise<void> {
    const config = this.#config();
    const result = await runBatch({
      storage: this.ctx.storage,
      pepperHex: config.TOKEN_PEPPER,
      concurrency: config.OPERATOR_JOB_CONCURRENCY,
      now: () => Date.now(),
      call: (tenantId, proof, action) =>
        this.env.TENANT_VAULT.get(this.env.TENANT_VAULT.idFromName(tenantId)).operatorAction(proof, action),
      afterCalls: async () => {
        if (!this.#crashAfterCalls) return;
        this.#crashAfterCalls = false;
        this.ctx.abort("test: crash after tenant calls");
      },
    });
    if (result === "more") await this.#arm();
  }

  async #arm(): Promise<void> {
    await this.ctx.storage.setAlarm(Date.now() + this.#config().OPERATOR_JOB_PAUSE_MS);
  }

  #config() {
    return loadConfig(this.env);
  }

  #tokens(): TokenStore {
    return { storage: this.ctx.storage, pepperHex: this.#config().TOKEN_PEPPER, now: Date.now() };
  }

  /** Validates the actor the Worker passes (it authenticated it) and runs `fn` for it. */
  #act<T>(actor: OperatorActor, fn: (actor: OperatorActor) => Promise<T>): Promise<Outcome<T>> {
    return this.#guard(typeof actor?.requestId === "string" ? actor.requestId : "operator", async () =>
      fn(this.#parse(ActorSchema, actor)),
    );
  }

  #guard<T>(requestId: string, fn: () => Promise<T>): Promise<Outcome<T>> {
    return guard(requestId, fn);
  }

  #parse<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
    return parseInput(schema, input);
  }
}
