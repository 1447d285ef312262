import type { D1Migration } from "cloudflare:test";

declare global {
  namespace Cloudflare {
    interface Env {
      /** D1 migrations read by vitest.config.ts, applied in test/workers/setup.ts. */
      TEST_MIGRATIONS: D1Migration[];
      /** The test OIDC issuer Worker (test/workers/support/oidc-issuer.ts). */
      OIDC_TEST_ISSUER: Fetcher;
      /** The gcp and azure KMS emulators (dev/gcp-kms, dev/azure-kv) and their settings (test/kms-providers.ts). */
      GCP_KMS_EMULATOR: Fetcher;
      AZURE_KV_EMULATOR: Fetcher;
      TEST_GCP_KMS: string;
      TEST_AZURE_KV: string;
    }
  }
}
export {};
