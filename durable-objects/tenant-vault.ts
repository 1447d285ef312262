import { DurableObject } from "cloudflare:workers";
import { z } from "zod";
import { OPERATIONS, roleAtLeast, type Operation } from "../worker/auth/roles";
import { importPepper } from "../worker/auth/tokens";
import { loadConfig, type Config } from "../worker/config";
import { getKek } from "../worker/db/keks";
import { tenantDb } from "../worker/db/tenant-db";
import { describeZodError, VaultError } from "../worker/errors";
import { createKmsProvider } from "../worker/kms";
import type { Call, Outcome } from "../worker/rpc";
import { KekStatusSchema } from "../worker/schemas/admin";
import { CredentialRefSchema, CreateCredentialSchema, ListCredentialsQuerySchema, RotateCredentialSchema, UpdateCredentialSchema } from "../worker/schemas/credentials";
import { BootstrapSchema, type BootstrapResult } from "../worker/schemas/tenants";
import { CreateTokenSchema, ListTokensQuerySchema } from "../worker/schemas/tokens";
import { TokenIdSchema } from "../worker/schemas/common";
import { KekCache } from "./kek/cache";
import { kekStatus, rotateKek, sweepStep } from "./kek/rotation";
import { toWireError } from "./errors";
import { authenticate } from "./ops/auth";
import * as creds from "./ops/credentials";
import { bootstrapTenant } from "./ops/tenant";
import * as tokens from "./ops/tokens";
import { migrate } from "./storage/migrations";
import { getMeta } from "./storage/meta";
import type { Actor, VaultContext } from "./vault-context";

const Empty = z.unknown();
const ByRef = z.strictObject({ ref: CredentialRefSchema });
const ById = z.strictObject({ id: TokenIdSchema });
const RefAndBody = <T extends z.ZodType>(body: T) => z.strictObject({ ref: CredentialRefSchema, body });

/**
 * The single authority for one tenant (DESIGN.md "Shape"): authenticates tokens against its own
 * storage, authorises by role, holds the unwrapped KEK cache, and is the only writer of the
 * tenant's rows in D1. Every public method is an RPC entry point; everything else is #private
 * so it cannot be reached over RPC.
 */
export class TenantVault extends DurableObject<Env> {
  #context: VaultContext | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    void ctx.blockConcurrencyWhile(async () => migrate(ctx.storage));
  }

  /** Creates this tenant and its first admin token. The Worker has checked the bootstrap secret. */
  async bootstrap(tenantId: string, requestId: string, input: unknown): Promise<Outcome<BootstrapResult>> {
    return this.#guard(requestId, async () => bootstrapTenant(this.#contextFor(tenantId), this.#parse(BootstrapSchema, input)));
  }

  whoami(call: Call<unknown>) {
    return this.#call(call, "whoami", Empty, (ctx, actor) => tokens.whoami(ctx, actor));
  }

  listCredentials(call: Call<unknown>) {
    return this.#call(call, "credentials.list", ListCredentialsQuerySchema, (ctx, _a, q) => creds.listCredentialPage(ctx, q));
  }

  getCredential(call: Call<unknown>) {
    return this.#call(call, "credentials.get", ByRef, async (ctx, _a, { ref }) => creds.credentialView(await creds.requireCredential(ctx, ref)));
  }

  createCredential(call: Call<unknown>) {
    return this.#call(call, "credentials.create", CreateCredentialSchema, (ctx, actor, input) => creds.createCredential(ctx, actor, input));
  }

  updateCredential(call: Call<unknown>) {
    return this.#call(call, "credentials.update", RefAndBody(UpdateCredentialSchema), (ctx, _a, { ref, body }) => creds.updateCredential(ctx, ref, body));
  }

  rotateCredential(call: Call<unknown>) {
    return this.#call(call, "credentials.rotate", RefAndBody(RotateCredentialSchema), (ctx, actor, { ref, body }) =>
      creds.rotateCredentialValue(ctx, actor, ref, body.value),
    );
  }

  listCredentialVersions(call: Call<unknown>) {
    return this.#call(call, "credentials.versions", ByRef, (ctx, _a, { ref }) => creds.listCredentialVersions(ctx, ref));
  }

  deleteCredential(call: Call<unknown>) {
    return this.#call(call, "credentials.delete", ByRef, async (ctx, _a, { ref }) => creds.deleteCredential(ctx, ref));
  }

  listTokens(call: Call<unknown>) {
    return this.#call(call, "tokens.list", ListTokensQuerySchema, async (ctx, _a, q) => tokens.listTokenPage(ctx, q));
  }

  getToken(call: Call<unknown>) {
    return this.#call(call, "tokens.get", ById, async (ctx, _a, { id }) => tokens.getToken(ctx, id));
  }

  createToken(call: Call<unknown>) {
    return this.#call(call, "tokens.create", CreateTokenSchema, (ctx, actor, input) => tokens.createToken(ctx, actor, input));
  }

  revokeToken(call: Call<unknown>) {
    return this.#call(call, "tokens.revoke", ById, async (ctx, actor, { id }) => tokens.revokeTokenById(ctx, actor, id));
  }

  kekStatus(call: Call<unknown>) {
    return this.#call(call, "kek.status", Empty, async (ctx) => KekStatusSchema.parse(await kekStatus(ctx)));
  }

  rotateKek(call: Call<unknown>) {
    return this.#call(call, "kek.rotate", Empty, (ctx) => rotateKek(ctx));
  }

  /** Background work: one KEK sweep batch per run, re-armed while there is more. */
  override async alarm(): Promise<void> {
    const tenantId = getMeta(this.ctx.storage.sql, "tenant_id");
    if (tenantId === undefined) return;
    const ctx = this.#contextFor(tenantId);
    const result = await sweepStep(ctx);
    if (result === "more") await ctx.scheduleAlarm(ctx.now() + ctx.config.KEK_SWEEP_PAUSE_MS);
  }

  /** Authenticates, authorises by the operation's least role, validates input, runs `fn`. */
  async #call<S extends z.ZodType, T>(
    call: Call<unknown>,
    op: Operation,
    schema: S,
    fn: (ctx: VaultContext, actor: Actor, input: z.output<S>) => T | Promise<T>,
  ): Promise<Outcome<T>> {
    return this.#guard(call.requestId, async () => {
      const tenantId = getMeta(this.ctx.storage.sql, "tenant_id");
      // A token naming a tenant that was never bootstrapped gets the same 401 as a bad token.
      if (tenantId === undefined) throw new VaultError("unauthorized", "invalid, expired or revoked token");
      const ctx = this.#contextFor(tenantId);
      const actor = await authenticate(ctx, call.token);
      const need = OPERATIONS[op];
      if (!roleAtLeast(actor.role, need)) throw new VaultError("forbidden", `this operation needs role ${need} or above`);
      return fn(ctx, actor, this.#parse(schema, call.input));
    });
  }

  async #guard<T>(requestId: string, fn: () => Promise<T>): Promise<Outcome<T>> {
    try {
      return { ok: true, value: await fn() };
    } catch (error) {
      return { ok: false, error: toWireError(error, requestId) };
    }
  }

  #parse<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
    const parsed = schema.safeParse(input);
    if (!parsed.success) throw new VaultError("validation_failed", describeZodError(parsed.error, "request"));
    return parsed.data;
  }

  #contextFor(tenantId: string): VaultContext {
    if (this.#context?.tenantId === tenantId) return this.#context;
    const config: Config = loadConfig(this.env);
    const storage = this.ctx.storage;
    const db = tenantDb(this.env.DB, tenantId);
    const kms = createKmsProvider(
      {
        region: config.KMS_REGION,
        keyId: config.KMS_KEY_ID,
        endpoint: config.KMS_ENDPOINT,
        accessKeyId: config.KMS_ACCESS_KEY_ID,
        secretAccessKey: config.KMS_SECRET_ACCESS_KEY,
        timeoutMs: config.KMS_TIMEOUT_MS,
      },
      (this.env as { KMS_EMULATOR?: Fetcher }).KMS_EMULATOR,
    );
    const now = () => Date.now();
    const keks = new KekCache({
      tenantId,
      kms,
      now,
      ttlMs: config.KEK_CACHE_TTL_SECONDS * 1000,
      loadWrapped: async (version) => (await getKek(db, version))?.wrappedKek ?? undefined,
    });
    this.#context = {
      tenantId,
      config,
      storage,
      sql: storage.sql,
      db,
      kms,
      keks,
      pepper: importPepper(config.TOKEN_PEPPER),
      now,
      scheduleAlarm: async (at) => {
        const current = await storage.getAlarm();
        if (current === null || current > at) await storage.setAlarm(at);
      },
    };
    return this.#context;
  }
}
