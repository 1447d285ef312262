import { beforeAll, describe, expect, it } from "vitest";
import { verifyAuditExport } from "../../../sdk/node";
import { cosignerVerifierKey, createCosigner, type Cosigner } from "../../../worker/core/audit/cosignature";
import { buildExport, cosignCheckpoint, MERKLE_KEY_NAME, testKey, type TestKey } from "../support/audit-export-fixture";

/**
 * Witness quorum in offline verification (issue 10 §3–4): with `witnesses`, an export verifies
 * only if a Merkle checkpoint covering its end is cosigned (cosignature/v1) by at least `quorum`
 * distinct witnesses the caller trusts. Every refusal has a passing control beside it.
 */

let key: TestKey;
let vkey: string;
const w: Record<"a" | "b" | "c", { cosigner: Cosigner; vkey: string }> = {} as never;

beforeAll(async () => {
  key = await testKey(1);
  vkey = (await testKey(1, MERKLE_KEY_NAME)).vkey;
  for (const [name, seed] of [
    ["a", "a1"],
    ["b", "b2"],
    ["c", "c3"],
  ] as const) {
    const cosigner = await createCosigner(seed.repeat(32), `witness-${name}.test`);
    w[name] = { cosigner, vkey: await cosignerVerifierKey(cosigner.name, cosigner.publicKey) };
  }
});

/** A Merkle export of 20 entries whose checkpoint of `size` carries cosignature lines by `by`. */
async function cosigned(by: Cosigner[], size = 20, options: { body?: (b: string) => string } = {}): Promise<string[]> {
  return cosignCheckpoint(
    await buildExport({ size: 20, checkpoints: [10, 20], key, merkleFrom: 1 }),
    size,
    by,
    options.body,
  );
}

const policy = (keys: string[], quorum: number) => ({ witnesses: { keys, quorum } });

describe("witness quorum", () => {
  it("passes with k of the trusted witnesses on the covering checkpoint, fails with fewer", async () => {
    const both = await cosigned([w.a.cosigner, w.b.cosigner]);
    expect(await verifyAuditExport(both, vkey, policy([w.a.vkey, w.b.vkey], 2))).toMatchObject({
      ok: true,
      witnessedThrough: 20,
      cosignedBy: ["witness-a.test", "witness-b.test"],
      unsignedTail: 0,
    });
    const one = await cosigned([w.a.cosigner]);
    expect(await verifyAuditExport(one, vkey, policy([w.a.vkey, w.b.vkey], 2))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/1 of the 2 witness cosignatures/),
    });
    expect(await verifyAuditExport(one, vkey, policy([w.a.vkey, w.b.vkey], 1))).toMatchObject({
      ok: true,
      cosignedBy: ["witness-a.test"],
    });
    // Without a policy the cosignatures are not needed (and an uncosigned export still verifies).
    expect(await verifyAuditExport(await cosigned([]), vkey)).toMatchObject({ ok: true });
    expect(await verifyAuditExport(await cosigned([]), vkey, policy([w.a.vkey], 1))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/cosigned by 1 of the 1 trusted witnesses/),
    });
  });

  it("a witness counts once however often it cosigns; an untrusted witness does not count", async () => {
    const twice = await cosigned([w.a.cosigner, w.a.cosigner]);
    expect(await verifyAuditExport(twice, vkey, policy([w.a.vkey, w.b.vkey], 2))).toMatchObject({ ok: false });
    const withC = await cosigned([w.a.cosigner, w.c.cosigner]);
    expect(await verifyAuditExport(withC, vkey, policy([w.a.vkey, w.b.vkey], 2))).toMatchObject({ ok: false });
    expect(await verifyAuditExport(withC, vkey, policy([w.a.vkey, w.c.vkey], 2))).toMatchObject({ ok: true });
  });

  it("a cosignature over another checkpoint body is refused (a trusted witness's line that fails rejects the note)", async () => {
    const forged = await cosigned([w.a.cosigner, w.b.cosigner], 20, { body: (b) => b.replace(/\n20\n/, "\n21\n") });
    expect(await verifyAuditExport(forged, vkey, policy([w.a.vkey, w.b.vkey], 1))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/invalid cosignature by witness witness-a\.test/),
    });
  });

  it("entries after the last witnessed checkpoint fail unless the tail is allowed, and are then reported", async () => {
    const early = await cosigned([w.a.cosigner], 10);
    expect(await verifyAuditExport(early, vkey, policy([w.a.vkey], 1))).toMatchObject({
      ok: false,
      seq: 11,
      unsignedTail: 10,
    });
    expect(await verifyAuditExport(early, vkey, { ...policy([w.a.vkey], 1), allowUnsignedTail: true })).toMatchObject({
      ok: true,
      witnessedThrough: 10,
      unsignedTail: 10,
    });
  });

  it("refuses a malformed policy with a reason: a log key as witness key, quorum 0 or above the keys", async () => {
    const lines = await cosigned([w.a.cosigner]);
    expect(await verifyAuditExport(lines, vkey, policy([vkey], 1))).toMatchObject({
      ok: false,
      seq: 0,
      reason: expect.stringMatching(/witness key 1/),
    });
    expect(await verifyAuditExport(lines, vkey, policy([w.a.vkey], 0))).toMatchObject({
      ok: false,
      seq: 0,
      reason: expect.stringMatching(/quorum/),
    });
    expect(await verifyAuditExport(lines, vkey, policy([w.a.vkey], 2))).toMatchObject({
      ok: false,
      seq: 0,
      reason: expect.stringMatching(/quorum/),
    });
    expect(await verifyAuditExport(lines, vkey, policy([w.a.vkey], 1))).toMatchObject({ ok: true });
  });
});
