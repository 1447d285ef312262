import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect } from "vitest";
import { TEST_OPERATOR_TOKEN } from "../../test-env";
import { startLocalVault, type LocalVault, type LocalVaultOptions } from "../support/vault";
import { buildCli, cliEnv, runCli, type CliFixture } from "./helpers";

/** One seeded tenant: its admin token and the value of its `db/password`. */
export interface MovedTenant {
  token: string;
  value: string;
}

/** What `ghostvault operator rotate-root --all --wait --json` prints. */
export interface RootJob {
  progress: { failed: number; done: number };
  tenants: { result: { root_key: string; previous_root_key: string | null; rewrapped: number[] } }[];
}

/**
 * The fixture of the end-to-end root-key move tests (test/node/cli/operator-root-move*.test.ts):
 * a state directory that outlives each vault, so the vault can be restarted on the same tenants
 * with other KMS settings; two tenants seeded under the first root, each with a `db/password`.
 * Registers its own beforeAll/afterAll.
 */
export function rootMoveFixture(prefix: string, options: Pick<LocalVaultOptions, "gcpEmulator"> = {}) {
  let state = "";
  let cli: CliFixture | undefined;
  let current: LocalVault | undefined;
  const tenants: MovedTenant[] = [];

  /** Stops the running vault and starts one on the same state with `vars` over the test bindings. */
  async function start(vars: Record<string, string>): Promise<LocalVault> {
    await current?.stop();
    current = await startLocalVault({ ...options, stateDir: state, vars: { OPERATOR_JOB_PAUSE_MS: "0", ...vars } });
    return current;
  }

  /** A lease of `db/password` with no client retries: the status and, on success, the value. */
  async function leaseValue(vault: LocalVault, token: string): Promise<{ status: number; value?: string }> {
    const res = await fetch(`${vault.url}/v1/leases`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ credential: "db/password", ttl: "5m" }),
    });
    const body = (await res.json()) as { value?: string };
    return { status: res.status, value: body.value };
  }

  /** Runs the fleet job through the CLI against `vault` and returns the finished job. */
  async function rotateRoot(vault: LocalVault): Promise<RootJob> {
    const env = cliEnv(cli!, { GHOSTVAULT_OPERATOR_URL: vault.url, GHOSTVAULT_OPERATOR_TOKEN: TEST_OPERATOR_TOKEN });
    const rotated = await runCli(cli!, ["operator", "rotate-root", "--all", "--wait", "--json"], {
      env,
      timeoutMs: 60_000,
    });
    expect(rotated.code, rotated.stderr).toBe(0);
    return JSON.parse(rotated.stdout) as RootJob;
  }

  beforeAll(async () => {
    state = await mkdtemp(path.join(tmpdir(), `ghostvault-${prefix}-`));
    cli = await buildCli();
    const first = await start({});
    for (const name of [`${prefix}-a`, `${prefix}-b`]) {
      const res = await fetch(`${first.url}/v1/bootstrap`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-bootstrap-secret": first.bootstrapSecret },
        body: JSON.stringify({ tenant_name: name, admin_identity: "user:admin@test" }),
      });
      const token = ((await res.json()) as { admin_token: { token: string } }).admin_token.token;
      const value = `pw-${name}-${crypto.randomUUID()}`;
      const created = await fetch(`${first.url}/v1/credentials`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ name: "db/password", value }),
      });
      expect(created.status).toBe(201);
      tenants.push({ token, value });
    }
  }, 180_000);
  afterAll(async () => {
    await current?.stop();
    await cli?.cleanup();
    if (state) await rm(state, { recursive: true, force: true });
  });

  return { tenants, start, leaseValue, rotateRoot };
}
