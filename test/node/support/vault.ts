/**
 * A real local Vault for Node-side tests (SDK, CLI, MCP): the vault Worker and the KMS emulator,
 * each started with wrangler's `unstable_startWorker` on a free port, linked through a private
 * dev registry (the vault's KMS_EMULATOR service binding finds "ghostvault-kms" there), with a
 * fresh D1/Durable Object state in a temp dir and a freshly bootstrapped tenant.
 *
 * Secrets are the fixed test values of test/test-env.ts, passed as bindings; the developer's
 * `.dev.vars` files are neither read nor written (each Worker gets an empty env file instead).
 *
 * ```ts
 * let vault: LocalVault;
 * beforeAll(async () => { vault = await startLocalVault(); });
 * afterAll(() => vault?.stop());
 * ```
 */

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { unstable_startWorker } from "wrangler";
import { BootstrapResultSchema } from "../../../worker/contract/schemas/tenants";
import { TEST_BINDINGS, TEST_KMS } from "../../test-env";
import { runInGroup } from "./processes";

/** The repository root. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const WRANGLER_BIN = path.join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");

type DevWorker = Awaited<ReturnType<typeof unstable_startWorker>>;
type Bindings = NonNullable<Parameters<typeof unstable_startWorker>[0]["bindings"]>;

/** A running local Vault. */
export interface LocalVault {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** The bootstrapped tenant's first admin API token. */
  adminToken: string;
  /** The bootstrapped tenant's id. */
  tenantId: string;
  /** The bootstrap secret this vault accepts (to bootstrap more tenants). */
  bootstrapSecret: string;
  /** Stops both Workers (and their workerd processes) and deletes the temp state. Idempotent. */
  stop(): Promise<void>;
}

/** Options for {@link startLocalVault}. */
export interface LocalVaultOptions {
  /** Upper bound for migrations + both Workers + bootstrap. Default 120 s (first bundle on two cores). */
  timeoutMs?: number;
  /** Name of the bootstrapped tenant. Default "node-test". */
  tenantName?: string;
  /** Identity of the first admin token. Default "user:admin@test". */
  adminIdentity?: string;
  /** Extra or overriding vault bindings (plain text), e.g. `{ AUDIT_CHECKPOINT_EVERY: "5" }`. */
  vars?: Record<string, string>;
  /**
   * A directory for D1 and Durable Object state that outlives this vault (the caller removes it):
   * a later vault started on it sees the same tenants, e.g. with other KMS settings.
   */
  stateDir?: string;
  /**
   * Bindings of the Cloud KMS emulator (test/kms-providers.ts `emulator`): start it beside the AWS
   * one, for a vault on the gcp provider or moving the root key to or from it.
   */
  gcpEmulator?: Record<string, string>;
}

const text = (value: string) => ({ type: "plain_text", value }) as const;

function vaultBindings(extra: Record<string, string>): Bindings {
  const vars: Record<string, string> = {
    ...TEST_BINDINGS,
    // Nothing drives the Durable Object alarm by hand in Node tests: let sweeps run as in dev.
    KEK_SWEEP_PAUSE_MS: "100",
    ...extra,
  };
  return Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, text(v)]));
}

const KMS_BINDINGS: Bindings = {
  KMS_KEY_ID: text(TEST_KMS.keyId),
  ROOT_KEY: text(TEST_KMS.rootKey),
  SECOND_KEY_ID: text(TEST_KMS.secondKeyId),
  SECOND_ROOT_KEY: text(TEST_KMS.secondRootKey),
  ACCESS_KEY_ID: text(TEST_KMS.accessKeyId),
  SECRET_ACCESS_KEY: text(TEST_KMS.secretAccessKey),
};

async function waitReady(url: string, deadline: number): Promise<void> {
  let last = "no answer";
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${url}/v1/ready`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
      last = `${res.status} ${await res.text()}`;
    } catch (error) {
      last = String(error);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`local vault not ready: GET /v1/ready: ${last}`);
}

async function withDeadline<T>(promise: Promise<T>, deadline: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`local vault: ${what} did not finish in time`)),
      Math.max(0, deadline - Date.now()),
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Starts a local Vault (bounded by `timeoutMs`) and bootstraps a tenant. On any failure
 * everything already started is stopped before the error is thrown.
 */
export async function startLocalVault(options: LocalVaultOptions = {}): Promise<LocalVault> {
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  const dir = await mkdtemp(path.join(tmpdir(), "ghostvault-node-"));
  const persist = options.stateDir ?? path.join(dir, "state");
  const registry = path.join(dir, "registry");
  const emptyEnv = path.join(dir, "empty.env");
  await writeFile(emptyEnv, "");
  const workers: DevWorker[] = [];
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // Vault first: it holds the service binding to the emulator.
    for (const w of workers.reverse()) await w.dispose().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  const common = {
    sendMetrics: false,
    // A non-empty list stops wrangler from reading the `.dev.vars` beside each config.
    envFiles: [emptyEnv],
    dev: {
      server: { hostname: "127.0.0.1", port: 0 },
      inspector: false as const,
      persist,
      registry,
      watch: false,
      logLevel: "warn" as const,
    },
  };
  try {
    const env = { ...process.env, WRANGLER_SEND_METRICS: "false" };
    await runInGroup(
      process.execPath,
      [WRANGLER_BIN, "d1", "migrations", "apply", "DB", "--local", "-c", "wrangler.toml", "--persist-to", persist],
      {
        cwd: ROOT,
        env,
        timeoutMs: Math.max(1000, deadline - Date.now()),
      },
    );
    const kms = await unstable_startWorker({
      ...common,
      config: path.join(ROOT, "dev/kms/wrangler.toml"),
      bindings: KMS_BINDINGS,
    });
    workers.push(kms);
    await withDeadline(kms.ready, deadline, "KMS emulator startup");
    if (options.gcpEmulator) {
      const gcp = await unstable_startWorker({
        ...common,
        config: path.join(ROOT, "dev/gcp-kms/wrangler.toml"),
        bindings: Object.fromEntries(Object.entries(options.gcpEmulator).map(([k, v]) => [k, text(v)])),
      });
      workers.push(gcp);
      await withDeadline(gcp.ready, deadline, "Cloud KMS emulator startup");
    }
    const vault = await unstable_startWorker({
      ...common,
      config: path.join(ROOT, "wrangler.toml"),
      bindings: vaultBindings(options.vars ?? {}),
    });
    workers.push(vault);
    await withDeadline(vault.ready, deadline, "vault startup");
    const url = (await vault.url).origin;
    await waitReady(url, deadline);
    const res = await fetch(`${url}/v1/bootstrap`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-bootstrap-secret": TEST_BINDINGS.BOOTSTRAP_SECRET },
      body: JSON.stringify({
        tenant_name: options.tenantName ?? "node-test",
        admin_identity: options.adminIdentity ?? "user:admin@test",
      }),
    });
    if (res.status !== 201) throw new Error(`local vault: bootstrap answered ${res.status}: ${await res.text()}`);
    const boot = BootstrapResultSchema.parse(await res.json());
    return {
      url,
      adminToken: boot.admin_token.token,
      tenantId: boot.tenant.id,
      bootstrapSecret: TEST_BINDINGS.BOOTSTRAP_SECRET,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
