import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEST_OPERATOR_TOKEN } from "../../test-env";
import { startLocalVault, type LocalVault } from "../support/vault";
import { buildCli, cliEnv, runCli, type CliFixture } from "../cli/helpers";

/**
 * The operator's fleet-wide scrape (issue 13 §4) on a vault of its own under wrangler
 * (`unstable_startWorker`): no `?tenants=` filter, so the registry is paged and every tenant's
 * object read, and the Durable Object writes its data points to wrangler's own Analytics Engine
 * binding (METRICS from wrangler.toml; no test stand-in is bound here), as in `npm run dev`.
 */

let vault: LocalVault;
let cli: CliFixture;
const tenants: { id: string; token: string }[] = [];

async function call(path: string, token: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${vault.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...init.headers },
  });
}

beforeAll(async () => {
  [vault, cli] = await Promise.all([startLocalVault({ tenantName: "fleet-0" }), buildCli()]);
  tenants.push({ id: vault.tenantId, token: vault.adminToken });
  for (const name of ["fleet-1", "fleet-2"]) {
    const res = await fetch(`${vault.url}/v1/bootstrap`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-bootstrap-secret": vault.bootstrapSecret },
      body: JSON.stringify({ tenant_name: name, admin_identity: "user:admin@test" }),
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { tenant: { id: string }; admin_token: { token: string } };
    tenants.push({ id: body.tenant.id, token: body.admin_token.token });
  }
  // Each tenant: a credential and as many leases as its index + 1.
  for (const [i, t] of tenants.entries()) {
    expect(
      (
        await call("/v1/credentials", t.token, {
          method: "POST",
          body: JSON.stringify({ name: "db", value: `fleet-value-${i}` }),
        })
      ).status,
    ).toBe(201);
    for (let n = 0; n <= i; n++)
      expect(
        (await call("/v1/leases", t.token, { method: "POST", body: JSON.stringify({ credential: "db", ttl: "5m" }) }))
          .status,
      ).toBe(201);
  }
}, 180_000);

afterAll(async () => {
  await vault?.stop();
  await cli?.cleanup();
});

describe("fleet-wide operator metrics", () => {
  it("GET /v1/operator/metrics reads every registered tenant, with its own counts", async () => {
    const res = await call("/v1/operator/metrics", TEST_OPERATOR_TOKEN);
    const text = await res.text();
    expect(res.status, text).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    for (const [i, t] of tenants.entries())
      expect(text).toContain(`ghostvault_leases_issued_total{tenant="${t.id}"} ${i + 1}`);
    expect(text).toContain('ghostvault_metrics_tenants{state="checked"} 3');
    expect(text).toContain("ghostvault_metrics_truncated 0");
    expect(text).not.toMatch(/fleet-value-/);
  });

  it("GET /v1/operator/signals over the whole fleet fires nothing on healthy traffic; a tenant token is refused", async () => {
    const res = await call("/v1/operator/signals", TEST_OPERATOR_TOKEN);
    const report = (await res.json()) as {
      tenants_checked: number;
      firing: string[];
      window: { leases_issued: number };
    };
    expect(res.status).toBe(200);
    expect(report).toMatchObject({ tenants_checked: 3, firing: [], window: { leases_issued: 6 } });
    expect((await call("/v1/operator/signals", tenants[0]!.token)).status).toBe(401);
  });

  it("ghostvault operator signals: exit 0 and every signal ok on a healthy fleet; a tenant token is refused", async () => {
    const env = cliEnv(cli, { GHOSTVAULT_OPERATOR_URL: vault.url, GHOSTVAULT_OPERATOR_TOKEN: TEST_OPERATOR_TOKEN });
    const table = await runCli(cli, ["operator", "signals"], { env });
    expect(table.code, table.stderr).toBe(0);
    for (const name of [
      "lease_issuance_failure_rate",
      "audit_write_failures",
      "integrity_violations",
      "kms_unavailable",
    ])
      expect(table.stdout).toMatch(new RegExp(`${name}\\s+P[01]\\s+ok`));
    const one = await runCli(cli, ["operator", "signals", "--tenant", tenants[1]!.id, "--json"], { env });
    expect(one.code, one.stderr).toBe(0);
    expect(JSON.parse(one.stdout)).toMatchObject({ tenants_checked: 1, firing: [], window: { leases_issued: 2 } });
    const refused = await runCli(cli, ["operator", "signals"], {
      env: cliEnv(cli, { GHOSTVAULT_OPERATOR_URL: vault.url, GHOSTVAULT_OPERATOR_TOKEN: tenants[0]!.token }),
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("unauthorized");
  });
});
