import { beforeAll, describe, expect, it } from "vitest";
import { verifyAuditExport } from "../../../sdk/index";
import { buildExport, entryIndex, rewriteFrom, testKey, type TestKey } from "../support/audit-export-fixture";

/**
 * Issue 10 §1, offline: `verifyAuditExport` fails unless every entry is covered by a checkpoint
 * signed by the caller's key for this tenant's origin. Each forged export below is refused; the
 * genuine export beside it (positive control) verifies.
 */

const TENANT = "t_fixture";
let key: TestKey;
let other: TestKey;
/** 12 entries, checkpoints at 5, 10 and 12 (the last one as an export signs it). */
let genuine: string[];

beforeAll(async () => {
  key = await testKey(1);
  other = await testKey(2);
  genuine = await buildExport({ size: 12, checkpoints: [5, 10, 12], key });
});

const verify = (lines: readonly string[], options: { allowUnsignedTail?: boolean; vkey?: string } = {}) =>
  verifyAuditExport(lines, options.vkey ?? key.vkey, { tenant: TENANT, allowUnsignedTail: options.allowUnsignedTail });

describe("strict offline verification", () => {
  it("positive control: a fully covered export verifies, with no unsigned tail", async () => {
    expect(await verify(genuine)).toMatchObject({
      ok: true,
      entries: 12,
      checkpoints: 3,
      signedThrough: 12,
      unsignedTail: 0,
    });
  });

  it("a fabricated export (a valid chain, no checkpoint) fails, even with allowUnsignedTail", async () => {
    const fabricated = await buildExport({ size: 12, checkpoints: [], key });
    expect(await verify(fabricated)).toMatchObject({
      ok: false,
      seq: 1,
      unsignedTail: 12,
      reason: expect.stringMatching(/no checkpoint signed by the key/),
    });
    expect(await verify(fabricated, { allowUnsignedTail: true })).toMatchObject({ ok: false, unsignedTail: 12 });
  });

  it("checkpoint lines stripped and actors rewritten with hashes recomputed: fails", async () => {
    const stripped = genuine.filter((l) => !l.includes('"kind":"checkpoint"'));
    const rewritten = await rewriteFrom(stripped, 3, (e) => (e.actor = { identity: "agent:someone-else@test" }));
    expect(await verify(rewritten)).toMatchObject({ ok: false, unsignedTail: 12 });
    // The rewrite with the checkpoints kept is caught at the first checkpoint after the edit.
    const kept = await rewriteFrom(genuine, 3, (e) => (e.actor = { identity: "agent:someone-else@test" }));
    expect(await verify(kept)).toMatchObject({
      ok: false,
      seq: 5,
      reason: expect.stringMatching(/signed checkpoint of size 5/),
    });
  });

  it("an export cut below its first checkpoint fails; cut after a checkpoint it passes only with allowUnsignedTail", async () => {
    const below = genuine.slice(0, entryIndex(genuine, 4) + 1);
    expect(await verify(below)).toMatchObject({ ok: false, seq: 1, unsignedTail: 4 });
    expect(await verify(below, { allowUnsignedTail: true })).toMatchObject({ ok: false, unsignedTail: 4 });
    const afterFirst = genuine.slice(0, entryIndex(genuine, 7) + 1);
    expect(await verify(afterFirst)).toMatchObject({
      ok: false,
      seq: 6,
      unsignedTail: 2,
      reason: expect.stringMatching(/last 2 entries/),
    });
    // Positive control: the caller who accepts a tail gets ok, with the tail's size reported.
    expect(await verify(afterFirst, { allowUnsignedTail: true })).toMatchObject({
      ok: true,
      signedThrough: 5,
      unsignedTail: 2,
    });
  });

  it("an entry edited after the last checkpoint: caught strictly; with an allowed tail it is reported as unsigned", async () => {
    const tailed = await buildExport({ size: 12, checkpoints: [5, 10], key });
    const edited = await rewriteFrom(tailed, 11, (e) => (e.outcome = "denied"));
    expect(await verify(edited)).toMatchObject({ ok: false, seq: 11, unsignedTail: 2 });
    expect(await verify(edited, { allowUnsignedTail: true })).toMatchObject({ ok: true, unsignedTail: 2 });
    // A fresh export ends with a checkpoint, so the same edit there is a failure at that checkpoint.
    const covered = await rewriteFrom(genuine, 11, (e) => (e.outcome = "denied"));
    expect(await verify(covered)).toMatchObject({
      ok: false,
      seq: 12,
      reason: expect.stringMatching(/signed checkpoint of size 12/),
    });
  });

  it("checkpoints signed by another key fail under the caller's key, and pass only under the key that signed them", async () => {
    const forged = await buildExport({ size: 12, checkpoints: [5, 10, 12], key: other });
    expect(await verify(forged)).toMatchObject({
      ok: false,
      seq: 5,
      reason: expect.stringMatching(/no signature by a trusted key/),
    });
    // The key inside the file is the forger's; it is never used (a caller key is required).
    expect(JSON.parse(forged[0]!)).toMatchObject({ verifier_key: other.vkey });
    expect(await verify(forged, { vkey: other.vkey })).toMatchObject({ ok: true });
  });

  it("a wrong origin fails: another host's key name, or checkpoints of another tenant's log", async () => {
    const wrongHost = await buildExport({
      size: 12,
      checkpoints: [5, 10, 12],
      key,
      origin: `evil.test/audit/${TENANT}`,
    });
    expect(await verify(wrongHost)).toMatchObject({ ok: false, seq: 0, reason: expect.stringMatching(/origin/) });
    const otherTenant = await buildExport({
      size: 12,
      checkpoints: [5, 10, 12],
      key,
      origin: `${key.signer.name}/t_other`,
    });
    const header = JSON.parse(otherTenant[0]!) as { origin: string };
    header.origin = `${key.signer.name}/${TENANT}`;
    const relabelled = [JSON.stringify(header), ...otherTenant.slice(1)];
    expect(await verify(relabelled)).toMatchObject({ ok: false, seq: 5, reason: expect.stringMatching(/origin/) });
    expect(await verifyAuditExport(genuine, key.vkey, { tenant: "t_other" })).toMatchObject({ ok: false, seq: 0 });
  });

  it("reordered lines fail: a checkpoint moved past later entries, two entries swapped", async () => {
    const cp = genuine.findIndex((l) => l.includes('"kind":"checkpoint"'));
    const moved = [...genuine];
    [moved[cp], moved[cp + 1]] = [moved[cp + 1]!, moved[cp]!];
    expect(await verify(moved)).toMatchObject({ ok: false, seq: 5, reason: expect.stringMatching(/out of place/) });
    const swapped = [...genuine];
    const a = entryIndex(genuine, 7);
    [swapped[a], swapped[a + 1]] = [swapped[a + 1]!, swapped[a]!];
    expect(await verify(swapped)).toMatchObject({ ok: false, seq: 7 });
  });
});
