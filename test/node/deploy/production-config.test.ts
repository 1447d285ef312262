import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { unstable_readConfig } from "wrangler";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../worker/contract/config";

const ROOT = join(import.meta.dirname, "../../..");
const run = promisify(execFile);

/** What the deployed Worker's `env` would hold: the environment's vars and bindings, plus its secrets. */
function productionEnv(): Record<string, unknown> {
  const config = unstable_readConfig({ config: join(ROOT, "wrangler.toml"), env: "production" });
  const env: Record<string, unknown> = { ...config.vars };
  for (const s of config.services ?? []) env[s.binding] = {};
  for (const d of config.d1_databases ?? []) env[d.binding] = {};
  for (const d of config.durable_objects.bindings) env[d.name] = {};
  for (const d of config.analytics_engine_datasets ?? []) env[d.binding] = {};
  // Secrets are set with `wrangler secret put`; any well-formed values will do for the check.
  return {
    ...env,
    TOKEN_PEPPER: "a".repeat(64),
    AUDIT_SIGNING_KEY: "b".repeat(64),
    BOOTSTRAP_SECRET: "c".repeat(32),
    KMS_ACCESS_KEY_ID: "AKIA-test",
    KMS_SECRET_ACCESS_KEY: "secret-test",
  };
}

describe("the production environment in wrangler.toml", () => {
  it("passes the Worker's own configuration checks, with no development-only binding", () => {
    const env = productionEnv();
    expect(env.KMS_EMULATOR).toBeUndefined();
    expect(env.OIDC_TEST_ISSUER).toBeUndefined();
    // The per-tenant counters' Analytics Engine dataset is bound in production (issue 13 §4).
    expect(env.METRICS).toEqual({});
    expect(loadConfig(env as unknown as Env).ENVIRONMENT).toBe("production");
    // Negative control: the same config with the emulator bound is refused.
    expect(() => loadConfig({ ...env, KMS_EMULATOR: {} } as unknown as Env)).toThrow(/misconfigured/);
    // Nor may the tests' Analytics Engine stand-in reach production.
    expect(() => loadConfig({ ...env, METRICS_TEST_SINK: {} } as unknown as Env)).toThrow(/misconfigured/);
  });

  it("builds with `wrangler deploy --dry-run --env production` (no network needed)", { timeout: 120_000 }, async () => {
    const out = mkdtempSync(join(tmpdir(), "gv-dry-run-"));
    try {
      const { stdout } = await run("npx", ["wrangler", "deploy", "--dry-run", "--env", "production", "--outdir", out], {
        cwd: ROOT,
        env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" },
      });
      expect(stdout).toContain("--dry-run: exiting now.");
      expect(stdout).toContain('env.ENVIRONMENT ("production")');
      expect(stdout).not.toContain("KMS_EMULATOR");
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
