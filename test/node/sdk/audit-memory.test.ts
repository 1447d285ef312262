import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditForkError, FileCheckpointMemory, MemoryCheckpointMemory, verifyAuditExport } from "../../../sdk/node";
import { buildExport, KEY_NAME, testKey, type TestKey } from "../support/audit-export-fixture";

/**
 * Issue 10 §4: a client that remembers the newest checkpoint it verified reports a fork (another
 * history, even one the vault's key signed) or a rollback as AuditForkError. Positive controls:
 * a forgetful client accepts the forked export, and a longer consistent export moves memory on.
 */

const ORIGIN = `${KEY_NAME}/t_fixture`;
let key: TestKey;
let dir: string;

beforeAll(async () => {
  key = await testKey(1);
  dir = await mkdtemp(path.join(tmpdir(), "gv-audit-memory-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const seen12 = async () => {
  const memory = new MemoryCheckpointMemory();
  expect(
    await verifyAuditExport(await buildExport({ size: 12, checkpoints: [5, 10, 12], key }), key.vkey, { memory }),
  ).toMatchObject({ ok: true });
  expect(await memory.get(ORIGIN)).toMatchObject({ origin: ORIGIN, size: 12 });
  return memory;
};

describe("checkpoint memory", () => {
  it("a history rewritten and re-signed by the vault's own key is a fork for a client that remembers", async () => {
    const forked = await buildExport({ size: 12, checkpoints: [5, 10, 12], key, forkAt: 8 });
    // Positive control: on its own the forged history verifies (the key signed it).
    expect(await verifyAuditExport(forked, key.vkey)).toMatchObject({ ok: true });
    const memory = await seen12();
    const error = await verifyAuditExport(forked, key.vkey, { memory }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuditForkError);
    expect(error).toMatchObject({ remembered: { size: 12 }, found: { size: 12 } });
    // A longer fork is caught at the remembered size too, and memory is not moved onto it.
    const longer = await buildExport({ size: 20, checkpoints: [5, 10, 12, 20], key, forkAt: 3 });
    await expect(verifyAuditExport(longer, key.vkey, { memory })).rejects.toBeInstanceOf(AuditForkError);
    expect(await memory.get(ORIGIN)).toMatchObject({ size: 12 });
    // Unsigned data cannot claim a fork: the same rewrite without checkpoints is only unverified.
    const unsigned = await buildExport({ size: 12, checkpoints: [], key, forkAt: 8 });
    expect(await verifyAuditExport(unsigned, key.vkey, { memory })).toMatchObject({ ok: false, unsignedTail: 12 });
  });

  it("a consistent, longer export moves memory forward; an export to the head that is shorter is a rollback", async () => {
    const memory = await seen12();
    const shorter = await buildExport({ size: 8, checkpoints: [4, 8], key });
    await expect(verifyAuditExport(shorter, key.vkey, { memory })).rejects.toThrow(/rollback/);
    // Positive control: the same entries as a bounded range (to_seq 8) are not a rollback.
    const range = await buildExport({ size: 8, checkpoints: [4, 8], key, toSeq: 8 });
    expect(await verifyAuditExport(range, key.vkey, { memory })).toMatchObject({ ok: true });
    expect(await memory.get(ORIGIN)).toMatchObject({ size: 12 });
    expect(
      await verifyAuditExport(await buildExport({ size: 20, checkpoints: [5, 10, 12, 20], key }), key.vkey, { memory }),
    ).toMatchObject({ ok: true });
    expect(await memory.get(ORIGIN)).toMatchObject({ size: 20 });
  });

  it("the file memory (the CLI's) keeps the newest checkpoint with its signed note across instances", async () => {
    const file = path.join(dir, "nested", "audit-checkpoints.json");
    await verifyAuditExport(await buildExport({ size: 12, checkpoints: [5, 10, 12], key }), key.vkey, {
      memory: new FileCheckpointMemory(file),
    });
    const again = new FileCheckpointMemory(file);
    expect(await again.get(ORIGIN)).toMatchObject({ size: 12, note: expect.stringContaining(`${ORIGIN}\n12\n`) });
    await expect(
      verifyAuditExport(await buildExport({ size: 12, checkpoints: [5, 10, 12], key, forkAt: 1 }), key.vkey, {
        memory: again,
      }),
    ).rejects.toBeInstanceOf(AuditForkError);
    expect(JSON.parse(await readFile(file, "utf8"))).toHaveProperty([ORIGIN, "size"], 12);
  });
});
