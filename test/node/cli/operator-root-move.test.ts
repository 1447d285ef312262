import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEST_KMS, TEST_OPERATOR_TOKEN } from "../../test-env";
import { startLocalVault, type LocalVault } from "../support/vault";
import { buildCli, cliEnv, runCli, type CliFixture } from "./helpers";

/**
 * Root-key rotation to another key id, end to end (issue 13 §2): tenants made under one AWS key;
 * the vault restarted on the same state with KMS_KEY_ID = a second key and KMS_PREVIOUS_KEY_ID =
 * the first; `ghostvault operator rotate-root --all` rewraps every KEK inside the KMS; restarted
 * with the second key only, every tenant still leases. Control: the second key alone, before the
 * rotation, cannot open the tenants' KEKs.
 */

let state: string;
let cli: CliFixture;
let current: LocalVault | undefined;
const tenants: { token: string; value: string }[] = [];

async function start(vars: Record<string, string>): Promise<LocalVault> {
  await current?.stop();
  current = await startLocalVault({ stateDir: state, vars: { OPERATOR_JOB_PAUSE_MS: "0", ...vars } });
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

beforeAll(async () => {
  state = await mkdtemp(path.join(tmpdir(), "ghostvault-root-move-"));
  cli = await buildCli();
  const first = await start({});
  for (const name of ["move-a", "move-b"]) {
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

describe("operator rotate-root to another key id", () => {
  it("moves every tenant's KEKs to the new key; afterwards the new key alone suffices", {
    timeout: 240_000,
  }, async () => {
    // Control: the new key alone cannot open KEKs still wrapped under the old one.
    const newOnly = await start({ KMS_KEY_ID: TEST_KMS.secondKeyId });
    expect((await leaseValue(newOnly, tenants[0]!.token)).status).toBe(503);

    const moving = await start({ KMS_KEY_ID: TEST_KMS.secondKeyId, KMS_PREVIOUS_KEY_ID: TEST_KMS.keyId });
    for (const t of tenants) expect(await leaseValue(moving, t.token)).toEqual({ status: 201, value: t.value });
    const env = cliEnv(cli, { GHOSTVAULT_OPERATOR_URL: moving.url, GHOSTVAULT_OPERATOR_TOKEN: TEST_OPERATOR_TOKEN });
    const rotated = await runCli(cli, ["operator", "rotate-root", "--all", "--wait", "--json"], {
      env,
      timeoutMs: 60_000,
    });
    expect(rotated.code, rotated.stderr).toBe(0);
    const job = JSON.parse(rotated.stdout) as {
      progress: { failed: number; done: number };
      tenants: { result: { root_key: string; rewrapped: number[] } }[];
    };
    expect(job.progress.failed).toBe(0);
    expect(job.tenants.every((t) => t.result.root_key === `aws:${TEST_KMS.secondKeyId}`)).toBe(true);

    const after = await start({ KMS_KEY_ID: TEST_KMS.secondKeyId });
    for (const t of tenants) expect(await leaseValue(after, t.token)).toEqual({ status: 201, value: t.value });
  });
});
