import { beforeAll, describe, expect, it } from "vitest";
import { AuditForkError, MemoryCheckpointMemory, verifyAuditExport } from "../../../sdk/node";
import {
  buildExport,
  entryIndex,
  MERKLE_KEY_NAME,
  rewriteFrom,
  testKey,
  windowOf,
  type TestKey,
} from "../support/audit-export-fixture";

/**
 * Offline verification of Merkle checkpoints (issue 10 §2, the cut-over): the root line is the
 * RFC 6962 root of entries 1..size, recomputed from the entries by the SDK; hash-chain
 * checkpoints signed before the cut-over keep verifying by the old rule. Each forgery below fails
 * beside a positive control.
 */

const TENANT = "t_fixture";
let key: TestKey;
let merkleVkey: string;

beforeAll(async () => {
  key = await testKey(1);
  merkleVkey = (await testKey(1, MERKLE_KEY_NAME)).vkey;
});

const merkleExport = (extra: { forkAt?: number } = {}) =>
  buildExport({ size: 20, checkpoints: [5, 10, 16, 20], key, merkleFrom: 1, ...extra });

describe("Merkle checkpoints offline", () => {
  it("verify with either verifier key string of the signing key; another key's fails", async () => {
    const lines = await merkleExport();
    expect(lines[entryIndex(lines, 5) + 1]).toContain(`${MERKLE_KEY_NAME}/${TENANT}\\n5\\n`);
    for (const vkey of [merkleVkey, key.vkey]) {
      expect(await verifyAuditExport(lines, vkey, { tenant: TENANT })).toMatchObject({
        ok: true,
        checkpoints: 4,
        signedThrough: 20,
        unsignedTail: 0,
      });
    }
    const other = await testKey(2, MERKLE_KEY_NAME);
    expect(await verifyAuditExport(lines, other.vkey)).toMatchObject({
      ok: false,
      seq: 5,
      reason: expect.stringMatching(/no signature by a trusted key/),
    });
  });

  it("an entry rewritten with every later hash and link recomputed fails at the next Merkle checkpoint", async () => {
    const lines = await merkleExport();
    const forged = await rewriteFrom(lines, 12, (e) => (e.actor = { identity: "user:nobody@test" }));
    expect(await verifyAuditExport(forged, merkleVkey)).toMatchObject({
      ok: false,
      seq: 16,
      reason: expect.stringMatching(/Merkle root/),
    });
  });

  it("a log cut over mid-way: hash-chain checkpoints before, Merkle ones after, all verify; a forged old entry still fails", async () => {
    const lines = await buildExport({ size: 20, checkpoints: [5, 10, 16, 20], key, merkleFrom: 16 });
    expect(lines[entryIndex(lines, 10) + 1]).toContain(`vault.test/audit/${TENANT}\\n10\\n`);
    expect(await verifyAuditExport(lines, merkleVkey)).toMatchObject({ ok: true, checkpoints: 4 });
    const forged = await rewriteFrom(lines, 3, (e) => (e.request_id = "forged"));
    expect(await verifyAuditExport(forged, merkleVkey)).toMatchObject({ ok: false, seq: 5 });
  });

  it("a window export verifies from the header's start_subtrees; a wrong or missing one fails", async () => {
    const window = windowOf(await merkleExport(), 8);
    expect(await verifyAuditExport(window, merkleVkey)).toMatchObject({ ok: true, fromSeq: 8, toSeq: 20, entries: 13 });
    const header = JSON.parse(window[0]!) as { start_subtrees: string[] };
    const wrong = [...header.start_subtrees];
    wrong[0] = wrong[1]!;
    const withHeader = (h: object) => [JSON.stringify({ ...header, ...h }), ...window.slice(1)];
    expect(await verifyAuditExport(withHeader({ start_subtrees: wrong }), merkleVkey)).toMatchObject({
      ok: false,
      seq: 10,
      reason: expect.stringMatching(/Merkle root/),
    });
    expect(await verifyAuditExport(withHeader({ start_subtrees: null }), merkleVkey)).toMatchObject({
      ok: false,
      seq: 10,
      reason: expect.stringMatching(/start_subtrees/),
    });
    expect(await verifyAuditExport(withHeader({ start_subtrees: wrong.slice(1) }), merkleVkey)).toMatchObject({
      ok: false,
      seq: 10,
      reason: expect.stringMatching(/start_subtrees/),
    });
  });
});

describe("client memory of Merkle checkpoints", () => {
  it("remembers the Merkle root; the same history passes, another one re-signed by the key is a fork", async () => {
    const memory = new MemoryCheckpointMemory();
    expect(await verifyAuditExport(await merkleExport(), merkleVkey, { memory })).toMatchObject({ ok: true });
    const seen = await memory.get(`${MERKLE_KEY_NAME}/${TENANT}`);
    expect(seen).toMatchObject({ size: 20, hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    // Positive control: the same history again is fine.
    expect(await verifyAuditExport(await merkleExport(), merkleVkey, { memory })).toMatchObject({ ok: true });
    const forked = await merkleExport({ forkAt: 18 });
    expect(await verifyAuditExport(forked, merkleVkey)).toMatchObject({ ok: true });
    const error = await verifyAuditExport(forked, merkleVkey, { memory }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuditForkError);
    expect(error).toMatchObject({ remembered: { size: 20, hash: seen!.hash }, found: { size: 20 } });
  });
});
