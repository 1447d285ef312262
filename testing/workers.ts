/**
 * The Miniflare worker options of a test vault (the vault Worker and its KMS emulator, from the
 * bundles build.mjs put in dist/workers/), with fresh random secrets. `startTestVault` runs them
 * in its own Miniflare; a Worker project tested under `@cloudflare/vitest-pool-workers` adds them
 * as auxiliary workers (`miniflare.workers`) and reaches the vault through a service binding.
 */

import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { WorkerOptions } from "miniflare";

const WORKERS = fileURLToPath(new URL("./workers/", import.meta.url).href);
const MIGRATIONS = fileURLToPath(new URL("./migrations/", import.meta.url).href);
const COMPATIBILITY_DATE = "2026-04-20";
const KMS_KEY_ID = "alias/ghostvault-test";

/** Options of {@link vaultWorkers}. */
export interface VaultWorkersOptions {
  /** Name of the vault worker (the target of your service binding). Default "ghostvault". */
  name?: string;
  /** Name of the D1 database the vault uses; bind the same name in your worker to apply migrations. Default "ghostvault-test-db". */
  d1Database?: string;
  /** Extra or overriding vault bindings. `ENVIRONMENT` other than "test" is refused. */
  vars?: Record<string, string>;
}

/** The workers and the per-start secrets a caller needs to drive them. */
export interface VaultWorkers {
  /** The vault worker first, then the KMS emulator (named `<name>-kms`). */
  workers: [WorkerOptions & { name: string }, WorkerOptions & { name: string }];
  /** Accepted by `POST /v1/bootstrap` in the `x-bootstrap-secret` header. */
  bootstrapSecret: string;
  /** The KMS emulator's control secret (`x-emulator-control` on `/__control/faults`). */
  kmsControlSecret: string;
  /** Every statement of the vault's D1 migrations, in order: run them on the vault's D1 before use. */
  migrations: string[];
}

const hex = (bytes: number) => randomBytes(bytes).toString("hex");

/** Every statement of the shipped D1 migrations, in file order (drizzle separates them with breakpoints). */
function migrationStatements(): string[] {
  const files = readdirSync(MIGRATIONS)
    .filter((f) => f.endsWith(".sql"))
    .sort();
  return files
    .flatMap((f) => readFileSync(MIGRATIONS + f, "utf8").split("--> statement-breakpoint"))
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** Builds the worker options of a test vault with random secrets; refuses production settings. */
export function vaultWorkers(options: VaultWorkersOptions = {}): VaultWorkers {
  const vars = options.vars ?? {};
  if (vars.ENVIRONMENT !== undefined && vars.ENVIRONMENT !== "test") {
    throw new Error(
      `test vault: vars.ENVIRONMENT must be "test" (got "${vars.ENVIRONMENT}"); a test vault never runs production settings`,
    );
  }
  const name = options.name ?? "ghostvault";
  const kmsControlSecret = hex(24);
  const bootstrapSecret = hex(24);
  // The vault's per-token and per-IP limits would only get in a test's way.
  const limit = { simple: { limit: 1_000_000, period: 60 } };
  const vault = {
    name,
    modulesRoot: WORKERS,
    modules: [{ type: "ESModule" as const, path: WORKERS + "vault.mjs" }],
    compatibilityDate: COMPATIBILITY_DATE,
    compatibilityFlags: ["nodejs_compat"],
    bindings: {
      KMS_PROVIDER: "aws",
      KMS_ENDPOINT: "http://kms-emulator.local",
      KMS_KEY_ID,
      KMS_REGION: "us-east-1",
      KMS_ACCESS_KEY_ID: "AKIDTESTVAULT0000001",
      KMS_SECRET_ACCESS_KEY: kmsControlSecret,
      TOKEN_PEPPER: hex(32),
      BOOTSTRAP_SECRET: bootstrapSecret,
      AUDIT_SIGNING_KEY: hex(32),
      AUDIT_HOST: "vault.test",
      KEK_SWEEP_PAUSE_MS: "100",
      ...vars,
      // Last, so `vars` cannot turn them off: the clock controls need the hooks, and `test` keeps them legal.
      ENVIRONMENT: "test",
      TEST_HOOKS: "true",
    },
    serviceBindings: { KMS_EMULATOR: `${name}-kms` },
    d1Databases: { DB: options.d1Database ?? "ghostvault-test-db" },
    durableObjects: {
      TENANT_VAULT: { className: "TenantVault", useSQLite: true },
      OPERATOR_PLANE: { className: "OperatorPlane", useSQLite: true },
    },
    ratelimits: {
      TOKEN_RATE_LIMITER: limit,
      IP_RATE_LIMITER: limit,
      CI_RATE_LIMITER: limit,
      OPERATOR_AUTH_LIMITER: limit,
    },
  };
  const kms = {
    name: `${name}-kms`,
    modulesRoot: WORKERS,
    modules: [{ type: "ESModule" as const, path: WORKERS + "kms.mjs" }],
    compatibilityDate: COMPATIBILITY_DATE,
    compatibilityFlags: ["nodejs_compat"],
    bindings: {
      KMS_KEY_ID,
      ROOT_KEY: hex(32),
      ACCESS_KEY_ID: "AKIDTESTVAULT0000001",
      SECRET_ACCESS_KEY: kmsControlSecret,
    },
  };
  return { workers: [vault, kms], bootstrapSecret, kmsControlSecret, migrations: migrationStatements() };
}
