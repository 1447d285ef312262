/**
 * A real Vault for your own tests: the vault Worker and its KMS emulator, bundled at package build
 * time and run in-process by Miniflare, with all state in memory, fresh random secrets on every
 * start, the D1 migrations applied and a tenant bootstrapped.
 *
 * ```ts
 * await using vault = await startTestVault({ credentials: { openai: "sk-test" } });
 * const lease = await vault.client.lease("openai");
 * ```
 */

import {
  VaultClient,
  type AuditPage,
  type CreateCredential,
  type CreateToken,
  type SetAcl,
} from "@ghoststack/vault-sdk";
import { Miniflare } from "miniflare";
import { vaultWorkers } from "./workers";

export { vaultWorkers, type VaultWorkers, type VaultWorkersOptions } from "./workers";

/** A credential fixture: its value, or its value with the other create options (TTLs, description…). */
export type CredentialFixture = string | { value: string; options?: Omit<CreateCredential, "name" | "value"> };

/** Options of {@link startTestVault}. */
export interface TestVaultOptions {
  /** Credentials created at start, by name. */
  credentials?: Record<string, CredentialFixture>;
  /** ACL policies set at start, by credential name (after the credentials are created). */
  acl?: Record<string, SetAcl>;
  /** Extra API tokens to issue at start (name defaults to the identity); returned in the same order. */
  tokens?: { role: CreateToken["role"]; identity: string; name?: string }[];
  /** Name of the bootstrapped tenant. Default "test". */
  tenantName?: string;
  /** Identity of the admin token. Default "user:admin@test". */
  adminIdentity?: string;
  /** Extra or overriding vault bindings, e.g. `{ AUDIT_CHECKPOINT_EVERY: "5" }`. `ENVIRONMENT=production` is refused. */
  vars?: Record<string, string>;
}

/** KMS emulator fault modes (see the emulator's `/__control/faults`). */
export type KmsFault =
  | { mode: "none" }
  | { mode: "error" | "throttle" | "garbage"; count?: number }
  | { mode: "delay"; delayMs: number; count?: number };

/** A running test vault. */
export interface TestVault extends AsyncDisposable {
  /** Base URL on 127.0.0.1 (random port), no trailing slash. */
  url: string;
  /** The admin API token of the bootstrapped tenant. */
  token: string;
  /** The bootstrapped tenant's id. */
  tenantId: string;
  /** An SDK client with the admin token. */
  client: VaultClient;
  /** The raw tokens of `options.tokens`, in order. */
  tokens: string[];
  /** Fixes the tenant's clock at `now` (ms since epoch or a Date); `null` returns it to real time. */
  setClock(now: number | Date | null): Promise<void>;
  /** Moves the tenant's clock forward by `ms` (fixing it first, at the real time, if it was not fixed). */
  advanceClock(ms: number): Promise<void>;
  /** Injects a fault into the KMS emulator's next calls (`{ mode: "none" }` clears it). */
  kmsFaults(fault: KmsFault): Promise<void>;
  /** Reads the tenant's audit log (newest first, as the API pages it). */
  audit(query?: Parameters<VaultClient["audit"]["query"]>[0]): Promise<AuditPage>;
  /** Stops the runtime; all state is gone. Idempotent. */
  stop(): Promise<void>;
}

async function expectOk(res: Response, what: string, status = 200): Promise<unknown> {
  const body = await res.text();
  if (res.status !== status) throw new Error(`test vault: ${what} answered ${res.status}: ${body}`);
  return JSON.parse(body) as unknown;
}

/**
 * Starts a test vault. Everything it holds is in memory and random per start; on any failure
 * during start the runtime is disposed before the error is thrown.
 */
export async function startTestVault(options: TestVaultOptions = {}): Promise<TestVault> {
  const { workers, bootstrapSecret, kmsControlSecret, migrations } = vaultWorkers({
    name: "vault",
    vars: options.vars,
  });
  const mf = new Miniflare({ cf: false, host: "127.0.0.1", port: 0, workers });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await mf.dispose();
  };
  try {
    const url = (await mf.ready).origin;
    const db = await mf.getD1Database("DB", "vault");
    for (const sql of migrations) await db.prepare(sql).run();
    const boot = (await expectOk(
      (await mf.dispatchFetch(`${url}/v1/bootstrap`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-bootstrap-secret": bootstrapSecret },
        body: JSON.stringify({
          tenant_name: options.tenantName ?? "test",
          admin_identity: options.adminIdentity ?? "user:admin@test",
        }),
      })) as unknown as Response,
      "bootstrap",
      201,
    )) as { admin_token: { token: string }; tenant: { id: string } };
    const token = boot.admin_token.token;
    const tenantId = boot.tenant.id;
    const client = new VaultClient({ url, token });
    for (const [name, fixture] of Object.entries(options.credentials ?? {})) {
      const { value, options: more } = typeof fixture === "string" ? { value: fixture, options: {} } : fixture;
      await client.credentials.create({ ...more, name, value });
    }
    for (const [name, policy] of Object.entries(options.acl ?? {})) await client.acl.set(name, policy);
    const tokens: string[] = [];
    for (const t of options.tokens ?? [])
      tokens.push(
        (await client.tokens.create({ name: t.name ?? t.identity, role: t.role, identity: t.identity })).token,
      );

    const ns = await mf.getDurableObjectNamespace("TENANT_VAULT", "vault");
    const tenant = () =>
      ns.get(ns.idFromName(tenantId)) as unknown as { setClockForTest(now: number | null): Promise<void> };
    let clock: number | null = null;
    const setClock = async (now: number | Date | null) => {
      clock = now === null ? null : typeof now === "number" ? now : now.getTime();
      await tenant().setClockForTest(clock);
    };
    const kms = await mf.getWorker("vault-kms");
    return {
      url,
      token,
      tenantId,
      client,
      tokens,
      setClock,
      advanceClock: (ms) => setClock((clock ?? Date.now()) + ms),
      async kmsFaults(fault) {
        const res = await kms.fetch("http://kms-emulator.local/__control/faults", {
          method: "POST",
          headers: { "content-type": "application/json", "x-emulator-control": kmsControlSecret },
          body: JSON.stringify(fault),
        });
        await expectOk(res as unknown as Response, "KMS fault injection");
      },
      audit: (query) => client.audit.query(query),
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
