import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VaultClient } from "../../../sdk/index";
import { cosignerVerifierKey, createCosigner } from "../../../worker/core/audit/cosignature";
import { testKey } from "../support/audit-export-fixture";
import { startLocalVault, type LocalVault } from "../support/vault";
import { buildCli, cliEnv, runCli, type CliFixture } from "./helpers";

/**
 * `ghostvault audit verify --from T --to T` (issue 10 §4, the incident runbook's integrity check
 * across the affected window) against a real local vault: the window's entries are exported up to
 * a covering checkpoint and verified by the CLI with the caller's key; with witness keys, only a
 * checkpoint cosigned by the quorum covers it.
 */

let vault: LocalVault;
let admin: VaultClient;
let cli: CliFixture;
let env: Record<string, string>;
let vkey: string;
let window: { from: string; to: string; seqs: number[] };

beforeAll(async () => {
  [vault, cli] = await Promise.all([startLocalVault(), buildCli()]);
  admin = new VaultClient({ url: vault.url, token: vault.adminToken });
  env = cliEnv(cli, { GHOSTVAULT_URL: vault.url, GHOSTVAULT_TOKEN: vault.adminToken });
  vkey = (await admin.audit.publicKey()).verifier_key;
  // Entries before, inside and after the window, with clear gaps between them.
  const pause = () => new Promise((r) => setTimeout(r, 20));
  const create = () =>
    admin.credentials.create({
      name: `win/${randomUUID().slice(0, 8)}`,
      value: `v-${randomUUID()}`,
      default_ttl: "5m",
      max_ttl: "1h",
    });
  await create();
  await pause();
  const from = new Date().toISOString();
  for (let i = 0; i < 3; i++) await create();
  const to = new Date().toISOString();
  await pause();
  await create();
  const inside = await admin.audit.query({ since: from, until: to, limit: 100 });
  window = { from, to, seqs: inside.items.map((r) => r.seq) };
}, 180_000);
afterAll(async () => {
  await vault?.stop();
  await cli?.cleanup();
});

const verify = (args: string[]) =>
  runCli(cli, ["audit", "verify", "--from", window.from, "--to", window.to, ...args], { env });

describe("audit verify --from --to", () => {
  it("verifies the window's entries here with the caller's key (positive control), and refuses without a key", async () => {
    expect(window.seqs.length).toBeGreaterThanOrEqual(3);
    const ok = await verify(["--public-key", vkey, "--json"]);
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    const result = JSON.parse(ok.stdout) as {
      ok: boolean;
      fromSeq: number;
      toSeq: number;
      window: { first_seq: number; last_seq: number };
    };
    expect(result).toMatchObject({ ok: true, window: { first_seq: window.seqs[0], last_seq: window.seqs.at(-1) } });
    expect(result.fromSeq).toBe(window.seqs[0]);
    expect(result.toSeq).toBeGreaterThanOrEqual(window.seqs.at(-1)!);
    const none = await verify([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--public-key/);
  });

  it("another key fails; with a witness quorum and no witnessed checkpoint after the window it fails (exit 1)", async () => {
    expect((await verify(["--public-key", (await testKey(7, "vault.test/audit/v2")).vkey])).code).toBe(1);
    const witness = await createCosigner("a1".repeat(32), "witness-a.test");
    const noWitness = await verify([
      "--public-key",
      vkey,
      "--witness-key",
      await cosignerVerifierKey(witness.name, witness.publicKey),
    ]);
    expect(noWitness.code).toBe(1);
    expect(noWitness.stderr).toMatch(/no checkpoint at or after seq \d+ is cosigned by 1/);
  });

  it("audit prove --public-key checks the proof's root against the signed checkpoint of its size", async () => {
    const size = (await admin.audit.checkpoints({ fresh: true })).items.at(-1)!.size;
    const prove = (args: string[]) => runCli(cli, ["audit", "prove", ...args], { env });
    const ok = await prove(["--seq", "1", "--size", String(size), "--public-key", vkey, "--json"]);
    expect(ok.stderr).toBe("");
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, size });
    expect((await prove(["--old", "1", "--size", String(size), "--public-key", vkey])).code).toBe(0);
    // Denials: another key; a size with no signed checkpoint.
    const other = await prove([
      "--seq",
      "1",
      "--size",
      String(size),
      "--public-key",
      (await testKey(7, "vault.test/audit/v2")).vkey,
    ]);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/not vouched for/);
    expect((await prove(["--seq", "1", "--size", "2", "--public-key", vkey])).code).toBe(1);
  });
});
