import { readFile, readdir, stat } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VaultClient } from "../../../sdk/index";
import { TEST_OPERATOR_TOKEN } from "../../test-env";
import { startLocalVault, type LocalVault } from "../support/vault";
import { buildCli, cliEnv, runCli, type CliFixture } from "./helpers";

/**
 * `ghostvault operator …` against a real local vault (issue 13 §3): its own login file, fleet jobs
 * followed to the end with --wait, disclosure drafts written to files, and the separation from
 * tenant logins both ways. The vault runs jobs by itself (OPERATOR_JOB_PAUSE_MS=0).
 */

let vault: LocalVault;
let cli: CliFixture;
let env: Record<string, string>;
const fleet: { tenantId: string; admin: VaultClient }[] = [];

async function bootstrapTenant(name: string): Promise<{ tenantId: string; admin: VaultClient }> {
  const res = await fetch(`${vault.url}/v1/bootstrap`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-bootstrap-secret": vault.bootstrapSecret },
    body: JSON.stringify({ tenant_name: name, admin_identity: "user:admin@test" }),
  });
  const body = (await res.json()) as { tenant: { id: string }; admin_token: { token: string } };
  return { tenantId: body.tenant.id, admin: new VaultClient({ url: vault.url, token: body.admin_token.token }) };
}

beforeAll(async () => {
  [vault, cli] = await Promise.all([startLocalVault({ vars: { OPERATOR_JOB_PAUSE_MS: "0" } }), buildCli()]);
  fleet.push({ tenantId: vault.tenantId, admin: new VaultClient({ url: vault.url, token: vault.adminToken }) });
  fleet.push(await bootstrapTenant("second"), await bootstrapTenant("third"));
  for (const t of fleet)
    await t.admin.credentials.create({
      name: "db/password",
      value: `pw-${t.tenantId}`,
      default_ttl: "5m",
      max_ttl: "1h",
    });
  env = cliEnv(cli, { GHOSTVAULT_OPERATOR_URL: vault.url, GHOSTVAULT_OPERATOR_TOKEN: TEST_OPERATOR_TOKEN });
}, 180_000);
afterAll(async () => {
  await vault?.stop();
  await cli?.cleanup();
});

const json = <T>(stdout: string) => JSON.parse(stdout) as T;

describe("ghostvault operator", () => {
  it("login stores the operator token apart from tenant logins (0600); a tenant token is refused there, and the operator token by tenant login", async () => {
    const fileEnv = cliEnv(cli);
    const refused = await runCli(cli, ["operator", "login", vault.url, "--token-stdin"], {
      env: fileEnv,
      input: vault.adminToken,
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("unauthorized");
    const login = await runCli(cli, ["operator", "login", vault.url, "--token-stdin"], {
      env: fileEnv,
      input: `${TEST_OPERATOR_TOKEN}\n`,
    });
    expect(login.code, login.stderr).toBe(0);
    const file = path.join(fileEnv.XDG_CONFIG_HOME!, "ghostvault", "operator.json");
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const who = await runCli(cli, ["operator", "whoami", "--json"], { env: fileEnv });
    expect(json(who.stdout)).toEqual({ operator: "operator:root", token_id: "root" });
    // The tenant login is untouched, and the operator token is no tenant token.
    await expect(stat(path.join(fileEnv.XDG_CONFIG_HOME!, "ghostvault", "config.json"))).rejects.toThrow();
    const tenantLogin = await runCli(cli, ["login", vault.url, "--token-stdin"], {
      env: fileEnv,
      input: TEST_OPERATOR_TOKEN,
    });
    expect(tenantLogin.code).toBe(1);
  });

  it("tenants lists the registry; verify --all --wait checks every chain", async () => {
    const tenants = await runCli(cli, ["operator", "tenants", "--json"], { env });
    expect(
      json<{ items: { id: string; status: string }[] }>(tenants.stdout)
        .items.map((t) => t.id)
        .sort(),
    ).toEqual(fleet.map((t) => t.tenantId).sort());
    const verify = await runCli(cli, ["operator", "verify", "--all", "--wait", "--json"], { env, timeoutMs: 60_000 });
    expect(verify.code, verify.stderr).toBe(0);
    const job = json<{ progress: { done: number }; tenants: { result: { ok: boolean } }[] }>(verify.stdout);
    expect(job.progress.done).toBe(3);
    expect(job.tenants.every((t) => t.result.ok)).toBe(true);
  });

  it("rotate-keks --tenant rotates only the named tenant; revoke-leases refuses --all and a missing --tenant (usage, exit 2)", async () => {
    const [a, b] = fleet;
    const rotate = await runCli(cli, ["operator", "rotate-keks", "--tenant", a!.tenantId, "--wait"], {
      env,
      timeoutMs: 60_000,
    });
    expect(rotate.code, rotate.stderr).toBe(0);
    expect((await a!.admin.admin.kekStatus()).active_version).toBe(2);
    expect((await b!.admin.admin.kekStatus()).active_version).toBe(1);
    expect((await runCli(cli, ["operator", "revoke-leases", "--all", "--reason", "x"], { env })).code).toBe(2);
    expect((await runCli(cli, ["operator", "revoke-leases", "--reason", "x"], { env })).code).toBe(2);
    const held = await b!.admin.lease("db/password", { ttl: "5m" });
    const revoke = await runCli(
      cli,
      ["operator", "revoke-leases", "--tenant", b!.tenantId, "--reason", "incident drill", "--wait", "--json"],
      { env, timeoutMs: 60_000 },
    );
    expect(json<{ tenants: { result: { revoked: number } }[] }>(revoke.stdout).tenants[0]!.result.revoked).toBe(1);
    expect((await b!.admin.leases.get(held.id)).state).toBe("revoked");
  });

  it("suspend --tenant --wait refuses the tenant's own callers (403 tenant_suspended); reactivate restores them; --all is refused", async () => {
    const [, , c] = fleet;
    const leaseStatus = async () => {
      const res = await fetch(`${vault.url}/v1/leases`, {
        method: "POST",
        headers: { authorization: `Bearer ${vault.adminToken}`, "content-type": "application/json" },
        body: JSON.stringify({ credential: "db/password", ttl: "5m" }),
      });
      return { status: res.status, code: ((await res.json()) as { error?: { code: string } }).error?.code };
    };
    expect((await runCli(cli, ["operator", "suspend", "--all", "--reason", "x"], { env })).code).toBe(2);
    const suspend = await runCli(
      cli,
      ["operator", "suspend", "--tenant", vault.tenantId, "--reason", "drill: contain", "--wait", "--json"],
      { env, timeoutMs: 60_000 },
    );
    expect(suspend.code, suspend.stderr).toBe(0);
    expect(await leaseStatus()).toEqual({ status: 403, code: "tenant_suspended" });
    // Fleet jobs with --all still reach the suspended tenant: a root-key move must not skip it.
    const verify = await runCli(cli, ["operator", "verify", "--all", "--wait", "--json"], { env, timeoutMs: 60_000 });
    expect(verify.code, verify.stderr).toBe(0);
    const verified = json<{ tenants: { tenant_id: string; result: { ok: boolean } }[] }>(verify.stdout).tenants;
    expect(verified.find((t) => t.tenant_id === vault.tenantId)?.result.ok).toBe(true);
    expect(verified).toHaveLength(fleet.length);
    // Control: another tenant leases as before.
    expect((await c!.admin.lease("db/password", { ttl: "5m" })).value).toBe(`pw-${c!.tenantId}`);
    const reactivate = await runCli(
      cli,
      ["operator", "reactivate", "--tenant", vault.tenantId, "--reason", "drill over", "--wait"],
      { env, timeoutMs: 60_000 },
    );
    expect(reactivate.code, reactivate.stderr).toBe(0);
    expect((await leaseStatus()).status).toBe(201);
  });

  it("impact --wait then disclosure --out writes a Markdown and a JSON draft per affected tenant, without values", async () => {
    const [, , c] = fleet;
    const from = new Date(Date.now() - 60_000).toISOString();
    await c!.admin.lease("db/password", { ttl: "5m" });
    const to = new Date(Date.now() + 60_000).toISOString();
    const impact = await runCli(
      cli,
      ["operator", "impact", "--tenant", c!.tenantId, "--from", from, "--to", to, "--wait", "--json"],
      { env, timeoutMs: 60_000 },
    );
    expect(impact.code, impact.stderr).toBe(0);
    const id = json<{ id: string }>(impact.stdout).id;
    const out = path.join(cli.home, "drafts");
    const disclosure = await runCli(cli, ["operator", "disclosure", id, "--out", out], { env });
    expect(disclosure.code, disclosure.stderr).toBe(0);
    expect((await readdir(out)).sort()).toEqual([`${c!.tenantId}.json`, `${c!.tenantId}.md`]);
    const md = await readFile(path.join(out, `${c!.tenantId}.md`), "utf8");
    expect(md).toContain("db/password");
    expect(md).not.toContain(`pw-${c!.tenantId}`);
    expect((await stat(path.join(out, `${c!.tenantId}.md`))).mode & 0o777).toBe(0o600);
  });

  it("rotate-root --all --wait rewraps every tenant's KEKs; every tenant still leases; jobs and log show it all", async () => {
    const root = await runCli(cli, ["operator", "rotate-root", "--all", "--wait", "--json"], {
      env,
      timeoutMs: 60_000,
    });
    expect(root.code, root.stderr).toBe(0);
    const job = json<{ id: string; progress: { done: number; failed: number } }>(root.stdout);
    expect(job.progress).toMatchObject({ done: 3, failed: 0 });
    for (const t of fleet) expect((await t.admin.lease("db/password", { ttl: "5m" })).value).toBe(`pw-${t.tenantId}`);
    const jobs = await runCli(cli, ["operator", "jobs"], { env });
    expect(jobs.stdout).toContain(job.id);
    const log = await runCli(cli, ["operator", "log"], { env });
    expect(log.code).toBe(0);
    expect(log.stderr).toContain("operator log chain verifies");
  });
});
