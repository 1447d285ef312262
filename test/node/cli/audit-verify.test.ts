import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cosignerVerifierKey, createCosigner } from "../../../worker/core/audit/cosignature";
import { buildExport, cosignCheckpoint, testKey, type TestKey } from "../support/audit-export-fixture";
import { buildCli, cliEnv, runCli, type CliFixture } from "./helpers";

/**
 * `ghostvault audit verify --file` is strict offline (issue 10 §1): exit 0 only when every entry
 * is covered by a checkpoint signed by the caller's key; an unsigned tail needs
 * `--allow-unsigned-tail` and is printed with its size. No vault: synthetic exports.
 */

let cli: CliFixture;
let key: TestKey;
let files: { genuine: string; fabricated: string; tailed: string; forked: string; witnessed: string };
let witness: { a: string; b: string };

beforeAll(async () => {
  [cli, key] = await Promise.all([buildCli(), testKey(1)]);
  const write = async (name: string, lines: string[]) => {
    const file = path.join(cli.home, `${name}.jsonl`);
    await writeFile(file, lines.join("\n") + "\n");
    return file;
  };
  files = {
    genuine: await write("genuine", await buildExport({ size: 8, checkpoints: [4, 8], key })),
    fabricated: await write("fabricated", await buildExport({ size: 8, checkpoints: [], key })),
    tailed: await write("tailed", await buildExport({ size: 8, checkpoints: [4], key })),
    forked: await write("forked", await buildExport({ size: 8, checkpoints: [4, 8], key, forkAt: 6 })),
    witnessed: "",
  };
  // A Merkle export whose last checkpoint witness A cosigned (witness B did not).
  const [a, b] = await Promise.all([
    createCosigner("a1".repeat(32), "witness-a.test"),
    createCosigner("b2".repeat(32), "witness-b.test"),
  ]);
  witness = { a: await cosignerVerifierKey(a.name, a.publicKey), b: await cosignerVerifierKey(b.name, b.publicKey) };
  files.witnessed = await write(
    "witnessed",
    await cosignCheckpoint(await buildExport({ size: 8, checkpoints: [4, 8], key, merkleFrom: 1 }), 8, [a]),
  );
}, 120_000);
afterAll(() => cli?.cleanup());

const verify = (args: string[], extra: Record<string, string> = {}) =>
  runCli(cli, ["audit", "verify", ...args], { env: cliEnv(cli, extra) });

describe("audit verify --file", () => {
  it("exits 0 on a fully covered export (positive control) and 1 on a fabricated one", async () => {
    const ok = await verify(["--file", files.genuine, "--public-key", key.vkey, "--json"]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, signedThrough: 8, unsignedTail: 0 });
    const bad = await verify(["--file", files.fabricated, "--public-key", key.vkey]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/no checkpoint signed by the key/);
  });

  it("an unsigned tail fails unless --allow-unsigned-tail, and its size is always shown", async () => {
    const strict = await verify(["--file", files.tailed, "--public-key", key.vkey]);
    expect(strict.code).toBe(1);
    expect(strict.stderr).toMatch(/last 4 entries/);
    const allowed = await verify(["--file", files.tailed, "--public-key", key.vkey, "--allow-unsigned-tail"]);
    expect(allowed.code).toBe(0);
    expect(allowed.stdout).toMatch(/unsigned tail\s+4/i);
  });

  it("takes the key from GHOSTVAULT_AUDIT_KEY, never from the file; without a key it refuses (exit 2)", async () => {
    expect((await verify(["--file", files.genuine], { GHOSTVAULT_AUDIT_KEY: key.vkey })).code).toBe(0);
    const other = await testKey(2);
    expect((await verify(["--file", files.genuine], { GHOSTVAULT_AUDIT_KEY: other.vkey })).code).toBe(1);
    const none = await verify(["--file", files.genuine]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--public-key/);
  });

  it("remembers the newest verified checkpoint: a forked history re-signed by the same key exits 3", async () => {
    const own = { XDG_CONFIG_HOME: path.join(cli.home, "fork-test") };
    // Positive control: a client that has seen nothing accepts the forked export (the key signed it).
    expect(
      (
        await verify(["--file", files.forked, "--public-key", key.vkey], {
          XDG_CONFIG_HOME: path.join(cli.home, "fresh"),
        })
      ).code,
    ).toBe(0);
    expect((await verify(["--file", files.genuine, "--public-key", key.vkey], own)).code).toBe(0);
    const fork = await verify(["--file", files.forked, "--public-key", key.vkey], own);
    expect(fork.code).toBe(3);
    expect(fork.stderr).toMatch(/fork or rollback/);
  });

  it("with --witness-key the covering checkpoint needs the quorum of cosignatures; keys also come from audit-trust.json", async () => {
    const base = ["--file", files.witnessed, "--public-key", key.vkey];
    const home = (name: string) => ({ XDG_CONFIG_HOME: path.join(cli.home, name) });
    // Positive controls: witness A cosigned, so a quorum of A (or 1 of A and B) passes.
    const ok = await verify([...base, "--witness-key", witness.a, "--json"], home("w1"));
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, witnessedThrough: 8, cosignedBy: ["witness-a.test"] });
    expect(
      (
        await verify(
          [...base, "--witness-key", witness.a, "--witness-key", witness.b, "--witness-quorum", "1"],
          home("w2"),
        )
      ).code,
    ).toBe(0);
    // Both required (the default quorum is every key given): B did not cosign.
    const both = await verify([...base, "--witness-key", witness.a, "--witness-key", witness.b], home("w3"));
    expect(both.code).toBe(1);
    expect(both.stderr).toMatch(/1 of the 2 witness cosignatures/);
    expect((await verify([...base, "--witness-key", witness.b], home("w4"))).code).toBe(1);
    // A malformed policy is a usage error.
    expect((await verify([...base, "--witness-key", key.vkey], home("w5"))).code).toBe(2);
    expect((await verify([...base, "--witness-key", witness.a, "--witness-quorum", "2"], home("w5"))).code).toBe(2);
    // The same policy from the config directory's audit-trust.json (no flags).
    const dir = path.join(cli.home, "trust", "ghostvault");
    await mkdir(dir, { recursive: true });
    await writeFile(
      path.join(dir, "audit-trust.json"),
      JSON.stringify({ public_key: key.vkey, witness_keys: [witness.a, witness.b], witness_quorum: 2 }),
    );
    const fromFile = await verify(["--file", files.witnessed], home("trust"));
    expect(fromFile.code).toBe(1);
    expect(fromFile.stderr).toMatch(/1 of the 2 witness cosignatures/);
    await writeFile(
      path.join(dir, "audit-trust.json"),
      JSON.stringify({ public_key: key.vkey, witness_keys: [witness.a], witness_quorum: 1 }),
    );
    expect((await verify(["--file", files.witnessed], home("trust"))).code).toBe(0);
  });
});
