import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { vaultWorkers } from "@ghoststack/vault-testing";
import { defineConfig } from "vitest/config";

// The test vault (vault Worker + KMS emulator, random secrets per run) as auxiliary workers. The
// app's VAULT binding points at it; VAULT_DB is the vault's D1, bound here only so the test setup
// can apply the vault's migrations.
const vault = vaultWorkers({ name: "ghostvault" });

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        workers: vault.workers,
        serviceBindings: { VAULT: "ghostvault" },
        d1Databases: { VAULT_DB: "ghostvault-test-db" },
        bindings: { VAULT_BOOTSTRAP_SECRET: vault.bootstrapSecret, VAULT_MIGRATIONS: JSON.stringify(vault.migrations) },
      },
    }),
  ],
  test: { include: ["test/**/*.test.ts"] },
});
