import { fileURLToPath } from "node:url";
import { buildSync } from "esbuild";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { ensureProxyPatch } from "./test/support/vpw-proxy-patch.ts";
import { TEST_BINDINGS, TEST_KMS } from "./test/test-env.ts";
import { kmsProviderTestWorkers } from "./test/kms-providers.ts";
import { CRASH_TESTS } from "./test/crash-tests.ts";
import { TEST_AUDIT_WITNESSES, witnessBindings } from "./test/witness-env.ts";

// One workerd for all workers test files is only safe to use when Durable Object construction
// costs the same for the last file as for the first (test/support/vpw-proxy-patch.ts).
const proxyPatch = ensureProxyPatch(fileURLToPath(new URL(".", import.meta.url)));
if (!proxyPatch.patched)
  console.warn(`vitest-pool-workers not patched (${proxyPatch.reason}): one workerd per test file, slower`);

/** Auxiliary workers are TypeScript; miniflare takes JavaScript, so bundle them. */
function bundle(entry: string): string {
  const out = buildSync({
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    // Runtime modules (the witness's Durable Object base class) stay imports.
    external: ["cloudflare:*", "node:*"],
    write: false,
  });
  return out.outputFiles[0]!.text;
}

// The gcp and azure KMS emulators (dev/gcp-kms, dev/azure-kv) with fresh keys per run.
const kmsProviders = kmsProviderTestWorkers(bundle);

/**
 * A workers project: the Worker, its Durable Objects and the auxiliary Workers in workerd. `isolate`
 * false shares one runtime across its files (docs/testing.md); true starts one per file.
 */
function workersProject(name: string, include: string[], exclude: string[], isolate: boolean) {
  return {
    plugins: [
      cloudflareTest(async () => ({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          // Every tenant's Merkle checkpoints go to the auxiliary witness, as a configured vault's do.
          bindings: {
            ...TEST_BINDINGS,
            AUDIT_WITNESSES: TEST_AUDIT_WITNESSES,
            ...kmsProviders.bindings,
            TEST_MIGRATIONS: await readD1Migrations("./migrations"),
          },
          // Low enough for a test to reach quickly; tests that send more than 300 requests spread them over tokens.
          ratelimits: {
            TOKEN_RATE_LIMITER: { simple: { limit: 300, period: 60 } },
            IP_RATE_LIMITER: { simple: { limit: 30, period: 60 } },
            CI_RATE_LIMITER: { simple: { limit: 60, period: 60 } },
            OPERATOR_AUTH_LIMITER: { simple: { limit: 10, period: 60 } },
          },
          workers: [
            {
              name: "ghostvault-kms",
              modules: true,
              script: bundle("dev/kms/index.ts"),
              compatibilityDate: "2026-04-20",
              compatibilityFlags: ["nodejs_compat"],
              bindings: {
                KMS_KEY_ID: TEST_KMS.keyId,
                ROOT_KEY: TEST_KMS.rootKey,
                SECOND_KEY_ID: TEST_KMS.secondKeyId,
                SECOND_ROOT_KEY: TEST_KMS.secondRootKey,
                ACCESS_KEY_ID: TEST_KMS.accessKeyId,
                SECRET_ACCESS_KEY: TEST_KMS.secretAccessKey,
              },
            },
            {
              name: "ghostvault-oidc-test",
              modules: true,
              script: bundle("test/workers/support/oidc-issuer.ts"),
              compatibilityDate: "2026-04-20",
            },
            {
              name: "ghostvault-use-upstream",
              modules: true,
              script: bundle("test/workers/support/use-upstream.ts"),
              compatibilityDate: "2026-04-20",
            },
            {
              name: "ghostvault-metrics-sink",
              modules: true,
              script: bundle("test/workers/support/metrics-sink.ts"),
              compatibilityDate: "2026-04-20",
            },
            {
              // The audit witness (dev/witness), with its own SQLite Durable Object, trusting the test vault's key.
              name: "ghostvault-witness",
              modules: true,
              script: bundle("dev/witness/index.ts"),
              compatibilityDate: "2026-04-20",
              compatibilityFlags: ["nodejs_compat"],
              bindings: witnessBindings(TEST_BINDINGS),
              durableObjects: { WITNESS_LOG: { className: "WitnessLog", useSQLite: true } },
            },
            ...kmsProviders.workers,
          ],
          // Test-only: OIDC discovery and JWKS fetches go to the test issuer Worker, credential
          // proxy calls to the test upstream API, metrics data points to the Analytics Engine stand-in.
          serviceBindings: {
            OIDC_TEST_ISSUER: "ghostvault-oidc-test",
            USE_TEST_UPSTREAM: "ghostvault-use-upstream",
            TEST_WITNESS: "ghostvault-witness",
            METRICS_TEST_SINK: "ghostvault-metrics-sink",
            ...kmsProviders.serviceBindings,
          },
        },
      })),
    ],
    test: {
      name,
      include,
      exclude,
      setupFiles: ["test/workers/setup.ts"],
      // One workerd for every file, files one after another: starting a runtime per file cost
      // ~6 s each, more than all the tests together (docs/testing.md). Files therefore share D1,
      // Durable Objects and the auxiliary Workers: every test makes its own tenants and ids.
      isolate,
      maxWorkers: 1,
      // In the shared runtime abortAllDurableObjects() also aborts every earlier file's objects
      // (audit-log/eviction took 5.07 s instead of 0.6 s); leave room for that and a loaded machine.
      testTimeout: 20_000,
    },
  };
}

export default defineConfig({
  test: {
    projects: [
      // Files that abort Durable Objects get a runtime each (test/crash-tests.ts); the rest share one.
      workersProject("workers", ["test/workers/**/*.test.ts"], [...CRASH_TESTS], !proxyPatch.patched),
      workersProject("workers-crash", [...CRASH_TESTS], [], true),
      {
        test: {
          name: "node",
          include: ["test/node/**/*.test.ts"],
          environment: "node",
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          environment: "node",
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // Each e2e file starts its own wrangler dev; two at once would fight over two cores.
          fileParallelism: false,
        },
      },
    ],
  },
});
