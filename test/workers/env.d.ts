import type { D1Migration } from "cloudflare:test";

declare global {
  namespace Cloudflare {
    interface Env {
      /** D1 migrations read by vitest.config.ts, applied in test/workers/setup.ts. */
      TEST_MIGRATIONS: D1Migration[];
      /** The test OIDC issuer Worker (test/workers/support/oidc-issuer.ts). */
      OIDC_TEST_ISSUER: Fetcher;
      /** The credential proxy's test upstream API (test/workers/support/use-upstream.ts). */
      USE_TEST_UPSTREAM: Fetcher;
      /** The audit witness Worker (dev/witness), an auxiliary Worker of the workers project. */
      TEST_WITNESS: Fetcher;
      /** The Analytics Engine stand-in (test/workers/support/metrics-sink.ts). */
      METRICS_TEST_SINK: Service<import("./support/metrics-sink").default>;
      /** Settings of the gcp and azure KMS emulators (test/kms-providers.ts), JSON. */
      TEST_GCP_KMS: string;
      TEST_AZURE_KV: string;
    }
  }
}
export {};
