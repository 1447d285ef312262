import { z } from "zod";
import { VaultError } from "./errors";
import { KMS_EMULATOR_BINDINGS, KMS_SECRET_BINDINGS, KmsConfigSchema, productionKmsProblems } from "../core/kms";

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lowercase hex characters");
const seconds = z.coerce.number().int().positive();

/**
 * One audit witness (dev/witness, C2SP tlog-witness) the vault submits its Merkle checkpoints to:
 * its key name, its cosigner vkey (type 0x04), and either an https `url` (production: a witness
 * in another Cloudflare account) or a service `binding` name (development and tests only).
 */
const WitnessSetting = z
  .strictObject({
    name: z.string().regex(/^[^\s+]+$/, "witness name must have no spaces or '+'"),
    vkey: z
      .string()
      .regex(/^[^\s+]+\+[0-9a-f]{8}\+[A-Za-z0-9+/]+={0,2}$/, "witness vkey must be <name>+<hex key ID>+<base64 key>"),
    url: z.url({ protocol: /^https?$/ }).optional(),
    binding: z
      .string()
      .regex(/^[A-Z][A-Z0-9_]*$/, "binding must be a binding name")
      .optional(),
  })
  .refine((w) => (w.url === undefined) !== (w.binding === undefined), "a witness has exactly one of url and binding")
  .refine((w) => w.vkey.startsWith(`${w.name}+`), "a witness vkey must carry the witness's name");

/** A configured witness (AUDIT_WITNESSES). */
export type WitnessSetting = z.output<typeof WitnessSetting>;

/** AUDIT_WITNESSES: a JSON array of witnesses, at most 16, distinct names. */
const Witnesses = z
  .string()
  .default("[]")
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: "custom", message: "AUDIT_WITNESSES is not JSON" });
      return z.NEVER;
    }
  })
  .pipe(z.array(WitnessSetting).max(16))
  .refine((list) => new Set(list.map((w) => w.name)).size === list.length, "AUDIT_WITNESSES names must be distinct");

/**
 * SHA-256 of operator tokens published in this repository (the test token of test/test-env.ts and
 * the empty string): production refuses them, since anyone who reads the code holds them.
 */
const WEAK_OPERATOR_TOKEN_HASHES = new Set([
  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  "89a5e3681ebb62bc1ddb5e447aedd42b846bd701e3fae70d962d8983e6928ef0",
]);

/** The Worker's configuration, parsed from its bindings once per isolate and env object. */
const ConfigSchema = z
  .object({
    ENVIRONMENT: z.enum(["development", "test", "production"]),
    TOKEN_PEPPER: hex64,
    BOOTSTRAP_SECRET: z.string().min(32, "must be at least 32 characters"),
    /** The KMS provider and its settings, parsed from the flat `KMS_*` bindings (worker/core/kms/settings.ts). */
    kms: KmsConfigSchema,
    /** How long an unwrapped tenant KEK may stay in a Durable Object's memory. */
    KEK_CACHE_TTL_SECONDS: seconds.max(3600).default(300),
    /** Wrapped DEKs rewrapped per alarm during a KEK rotation sweep. */
    KEK_SWEEP_BATCH: seconds.max(1000).default(200),
    /**
     * Pause before each sweep batch. A Durable Object is single-threaded: back-to-back batches
     * would starve lease requests. Tests set it high and drive the alarm themselves.
     */
    KEK_SWEEP_PAUSE_MS: z.coerce.number().int().min(0).max(3_600_000).default(100),
    /** The longest lease any credential of a tenant may grant. */
    TENANT_MAX_LEASE_TTL_SECONDS: seconds.default(86_400),
    /** Active leases expired per alarm run, recorded in `leases.expired` entries, in transactions of LEASE_EXPIRY_CHUNK. */
    LEASE_EXPIRY_BATCH: seconds.max(5000).default(500),
    /**
     * Pause between expiry batches when more are due: an expiry storm must not starve lease
     * requests on the single-threaded Durable Object (bench scenario 5).
     */
    LEASE_EXPIRY_PAUSE_MS: z.coerce.number().int().min(0).max(60_000).default(25),
    /**
     * Leases expired per transaction within one alarm run's batch. Each chunk is one synchronous
     * transaction that holds the object; between chunks the run yields for
     * LEASE_EXPIRY_CHUNK_PAUSE_MS so lease requests interleave (bench scenario 5, issue 16 goal 2).
     */
    LEASE_EXPIRY_CHUNK: seconds.max(5000).default(100),
    /**
     * Pause between the chunks of one expiry batch (see LEASE_EXPIRY_CHUNK). 0 still yields to the
     * event loop, so requests already queued run first; a longer pause only stretched a storm on a
     * loaded machine (timers fire late), without a lower issuance p99 (bench/results/notes.md).
     */
    LEASE_EXPIRY_CHUNK_PAUSE_MS: z.coerce.number().int().min(0).max(1000).default(0),
    /** Ed25519 seed (hex) that signs audit checkpoints. */
    AUDIT_SIGNING_KEY: hex64,
    /** Host part of checkpoint origins (`<host>/audit/<tenant>`) and of the signing key's name. */
    AUDIT_HOST: z
      .string()
      .regex(/^[A-Za-z0-9.-]+(:\d+)?$/, "must be a host name")
      .default("localhost"),
    /** A checkpoint is signed after this many entries... */
    AUDIT_CHECKPOINT_EVERY: seconds.max(100_000).default(256),
    /** ...or this long after the last one, whichever comes first. */
    AUDIT_CHECKPOINT_SECONDS: seconds.max(86_400).default(60),
    /** Witnesses that cosign the audit log's Merkle checkpoints (docs/security-model.md "Witnesses"). */
    AUDIT_WITNESSES: Witnesses,
    /** How long one submission to a witness may take before it counts as failed and is retried. */
    AUDIT_WITNESS_TIMEOUT_MS: seconds.max(30_000).default(3000),
    /** The longest a session token may live. */
    SESSION_MAX_TTL_SECONDS: seconds.max(7 * 86_400).default(12 * 3600),
    /**
     * Refusals of callers who proved nothing (unknown token, bad signature, untrusted issuer)
     * recorded one by one per tenant per minute; the rest are folded into one summary entry.
     */
    AUDIT_ANON_REFUSALS_PER_MINUTE: seconds.max(10_000).default(60),
    /** Such refusals from one client IP per tenant per minute before it is answered 429 instead. */
    ANON_REFUSALS_PER_IP_PER_MINUTE: seconds.max(100_000).default(600),
    /** Per-token and per-IP rate limits; only benchmarks may turn them off, never production. */
    RATE_LIMITS: z.enum(["on", "off"]).default("on"),
    /**
     * The one gate of the test and benchmark surface: the Durable Object's test hooks (fixed clock,
     * bulk lease seeding, do-insert baseline; durable-objects/test-hooks.ts), the /v1/bench routes and
     * RATE_LIMITS=off. Off unless set; production refuses it.
     */
    TEST_HOOKS: z
      .enum(["true", "false"])
      .default("false")
      .transform((v) => v === "true"),
    /**
     * Lets OIDC discovery and JWKS fetches use http, ports, IP literals and local names, for a
     * local test issuer. Off unless set; production refuses it (worker/core/federation/outbound.ts).
     */
    OUTBOUND_ALLOW_INSECURE: z
      .enum(["true", "false"])
      .default("false")
      .transform((v) => v === "true"),
    /**
     * The operator plane (`/v1/operator/*`, issue 13 §3): off unless set. When on, the SHA-256 (hex)
     * of the root operator token must be configured as the secret OPERATOR_TOKEN_HASH.
     */
    OPERATOR_PLANE_ENABLED: z
      .enum(["true", "false"])
      .default("false")
      .transform((v) => v === "true"),
    OPERATOR_TOKEN_HASH: hex64.optional(),
    /** Tenant objects a fleet job calls at once (bounded fan-out), per alarm run of the OperatorPlane. */
    OPERATOR_JOB_CONCURRENCY: seconds.max(32).default(8),
    /** Pause between a fleet job's batches; tests set it high and drive the alarm themselves. */
    OPERATOR_JOB_PAUSE_MS: z.coerce.number().int().min(0).max(3_600_000).default(0),
    HAS_KMS_EMULATOR: z.boolean(),
    /** Names (never values) of the KMS secret bindings present, to spot another provider's. */
    KMS_SECRETS_SET: z.array(z.string()),
    HAS_OIDC_TEST_ISSUER: z.boolean(),
    HAS_USE_TEST_UPSTREAM: z.boolean(),
    HAS_DEV_WITNESS: z.boolean(),
    HAS_METRICS_TEST_SINK: z.boolean(),
  })
  .superRefine((c, ctx) => {
    if (c.RATE_LIMITS === "off" && c.ENVIRONMENT !== "production" && !c.TEST_HOOKS) {
      ctx.addIssue({ code: "custom", message: "RATE_LIMITS=off is for tests and benchmarks (TEST_HOOKS) only" });
    }
    // An enabled plane without its secret would refuse every operator; say so at start-up instead.
    if (c.OPERATOR_PLANE_ENABLED && c.OPERATOR_TOKEN_HASH === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["OPERATOR_TOKEN_HASH"],
        message: "OPERATOR_PLANE_ENABLED=true needs OPERATOR_TOKEN_HASH (SHA-256 hex of the root operator token)",
      });
    }
    // Production never talks to the development KMS emulator: it holds a root key in plain sight.
    if (c.ENVIRONMENT !== "production") return;
    if (
      c.OPERATOR_PLANE_ENABLED &&
      c.OPERATOR_TOKEN_HASH !== undefined &&
      WEAK_OPERATOR_TOKEN_HASHES.has(c.OPERATOR_TOKEN_HASH)
    ) {
      ctx.addIssue({
        code: "custom",
        path: ["OPERATOR_TOKEN_HASH"],
        message: "production must not use a published development or test operator token",
      });
    }
    if (c.RATE_LIMITS === "off") ctx.addIssue({ code: "custom", message: "production must not turn RATE_LIMITS off" });
    if (c.TEST_HOOKS) ctx.addIssue({ code: "custom", message: "production must not enable TEST_HOOKS" });
    if (c.OUTBOUND_ALLOW_INSECURE)
      ctx.addIssue({ code: "custom", message: "production must not enable OUTBOUND_ALLOW_INSECURE" });
    if (c.HAS_OIDC_TEST_ISSUER) ctx.addIssue({ code: "custom", message: "production must not bind OIDC_TEST_ISSUER" });
    if (c.HAS_USE_TEST_UPSTREAM)
      ctx.addIssue({ code: "custom", message: "production must not bind USE_TEST_UPSTREAM" });
    if (c.HAS_METRICS_TEST_SINK)
      ctx.addIssue({ code: "custom", message: "production must not bind METRICS_TEST_SINK" });
    if (c.HAS_KMS_EMULATOR) {
      ctx.addIssue({
        code: "custom",
        message: "production must not bind a KMS emulator (KMS_EMULATOR, GCP_KMS_EMULATOR, AZURE_KV_EMULATOR)",
      });
    }
    if (c.HAS_DEV_WITNESS)
      ctx.addIssue({ code: "custom", message: "production must not bind AUDIT_WITNESS_DEV (the development witness)" });
    // A witness the vault's own operator runs beside it proves nothing: production wants one in
    // another account, reached over https, never a service binding (which only reaches this account).
    for (const w of c.AUDIT_WITNESSES) {
      if (w.binding !== undefined)
        ctx.addIssue({
          code: "custom",
          path: ["AUDIT_WITNESSES"],
          message: `production must not reach witness ${w.name} through a service binding`,
        });
      if (w.url !== undefined && !w.url.startsWith("https://"))
        ctx.addIssue({
          code: "custom",
          path: ["AUDIT_WITNESSES"],
          message: `production witness ${w.name} must use https`,
        });
      if (w.url !== undefined && /^https:\/\/(localhost|127\.|\[::1\]|[^/]*\.local(?:[:/]|$))/i.test(w.url)) {
        ctx.addIssue({
          code: "custom",
          path: ["AUDIT_WITNESSES"],
          message: `production witness ${w.name} must not be a local address`,
        });
      }
    }
    for (const message of productionKmsProblems(c.kms, c.KMS_SECRETS_SET))
      ctx.addIssue({ code: "custom", path: ["kms"], message });
  });

/** Parsed, validated configuration. */
export type Config = z.infer<typeof ConfigSchema>;

const cache = new WeakMap<object, Config>();

/**
 * Reads the configuration from the bindings. A bad configuration is the operator's error, not
 * the client's: it answers 503 `misconfigured` and names the setting, never its value.
 */
export function loadConfig(env: Env): Config {
  const hit = cache.get(env);
  if (hit) return hit;
  const raw = env as unknown as Record<string, unknown>;
  const hasEmulator = Object.values(KMS_EMULATOR_BINDINGS).some((name) => raw[name] !== undefined);
  const parsed = ConfigSchema.safeParse({
    ...raw,
    kms: raw,
    KMS_SECRETS_SET: KMS_SECRET_BINDINGS.filter((name) => raw[name] !== undefined),
    HAS_KMS_EMULATOR: hasEmulator,
    HAS_OIDC_TEST_ISSUER: raw.OIDC_TEST_ISSUER !== undefined,
    HAS_USE_TEST_UPSTREAM: raw.USE_TEST_UPSTREAM !== undefined,
    HAS_DEV_WITNESS: raw.AUDIT_WITNESS_DEV !== undefined,
    HAS_METRICS_TEST_SINK: raw.METRICS_TEST_SINK !== undefined,
  });
  if (!parsed.success) {
    const names = [...new Set(parsed.error.issues.map((i) => i.path.join(".") || i.message))];
    console.error("vault misconfigured", { settings: names });
    throw new VaultError("misconfigured", "server misconfigured; the operator must check the Worker log");
  }
  cache.set(env, parsed.data);
  return parsed.data;
}

/**
 * The one gate of test-only hooks (issue 15 §7): the fixed clock, lease seeding, the bench
 * baseline and routes, and fault injection (issue 18 §2) all need `TEST_HOOKS`, which the
 * production configuration refuses.
 */
export function allowsTestHooks(config: Pick<Config, "TEST_HOOKS">): boolean {
  return config.TEST_HOOKS;
}
