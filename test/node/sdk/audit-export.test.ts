import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { splitLines, verifyAuditExport, VaultClient, type AuditPublicKey } from "../../../sdk/index";
import { hashEntry } from "../../../worker/core/audit/codec";
import type { AuditEntry } from "../../../worker/core/audit/entry";
import { createSigner, verifierKey } from "../../../worker/core/audit/signed-note";
import { startLocalVault, type LocalVault } from "../support/vault";

/** Offline verification of a real export from a local Vault, and of tampered copies of it. */

let vault: LocalVault;
let lines: string[];
let key: AuditPublicKey;

/** An export entry line, editable as a tamperer would edit it. */
interface EntryLine {
  kind: "entry";
  seq: number;
  hash: string;
  entry: { -readonly [K in keyof AuditEntry]: AuditEntry[K] };
}

beforeAll(async () => {
  vault = await startLocalVault();
  const admin = new VaultClient({ url: vault.url, token: vault.adminToken });
  // Enough activity for several signed checkpoints (the test vault signs one every 10 entries).
  for (let i = 0; i < 4; i++) {
    await admin.credentials.create({ name: `audit/${i}`, value: `v${i}` });
    await admin.withLease(`audit/${i}`, () => undefined, { purpose: "audit export test" });
  }
  const deadline = Date.now() + 15_000;
  while ((await admin.audit.checkpoints()).items.length < 1 && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 200));
  lines = [];
  for await (const line of admin.audit.exportLines()) lines.push(line);
  key = await admin.audit.publicKey();
});
afterAll(() => vault?.stop());

const entryAt = (seq: number) => lines.findIndex((l) => l.startsWith(`{"kind":"entry","seq":${seq},`));
const parsed = (i: number) => JSON.parse(lines[i]!) as EntryLine;

describe("verifyAuditExport", () => {
  it("verifies a real export: chain, signatures and checkpoint heads", async () => {
    const entries = lines.filter((l) => l.includes('"kind":"entry"')).length;
    const result = await verifyAuditExport(lines, key, { tenant: vault.tenantId });
    expect(result).toMatchObject({ ok: true, tenant: vault.tenantId, entries, fromSeq: 1, toSeq: entries });
    expect(result.ok && result.checkpoints).toBeGreaterThanOrEqual(1);
    expect(result.ok && result.signedThrough).toBeGreaterThanOrEqual(10);
    // The same text whole, or in chunks that cut through lines, verifies the same way.
    const text = lines.join("\n") + "\n";
    expect(await verifyAuditExport(text, key.verifier_key)).toEqual(result);
    const chunks = text.match(/[\s\S]{1,7}/g)!;
    expect(
      await verifyAuditExport(
        splitLines(
          (async function* () {
            yield* chunks;
          })(),
        ),
        key,
        { batchSize: 3 },
      ),
    ).toEqual(result);
  });

  it("fails at the edited entry when its content changes", async () => {
    const copy = [...lines];
    const i = entryAt(5);
    const line = parsed(i);
    line.entry.ts = new Date(Date.parse(line.entry.ts) + 1000).toISOString();
    copy[i] = JSON.stringify(line);
    expect(await verifyAuditExport(copy, key)).toMatchObject({
      ok: false,
      seq: 5,
      reason: expect.stringMatching(/stored hash/),
    });
  });

  it("fails at the next entry when the editor also recomputed the edited entry's hash", async () => {
    const copy = [...lines];
    const i = entryAt(5);
    const line = parsed(i);
    line.entry.outcome = line.entry.outcome === "success" ? "denied" : "success";
    line.hash = await hashEntry(line.entry);
    copy[i] = JSON.stringify(line);
    expect(await verifyAuditExport(copy, key)).toMatchObject({
      ok: false,
      seq: 6,
      reason: expect.stringMatching(/prev_hash/),
    });
  });

  it("fails at a deleted entry, and at a tail cut below a signed checkpoint", async () => {
    const deleted = lines.filter((_, i) => i !== entryAt(7));
    expect(await verifyAuditExport(deleted, key)).toMatchObject({
      ok: false,
      seq: 7,
      reason: expect.stringMatching(/missing/),
    });
    const cut = lines.filter((_, i) => i !== entryAt(10) && !(i > entryAt(10) && lines[i]!.includes('"kind":"entry"')));
    expect(await verifyAuditExport(cut, key)).toMatchObject({ ok: false, seq: 10 });
  });

  it("refuses checkpoints signed by another key, and an export of another tenant", async () => {
    const signer = await createSigner(randomBytes(32).toString("hex"), key.key_name);
    const otherKey = await verifierKey(signer.name, signer.publicKey);
    expect(await verifyAuditExport(lines, otherKey)).toMatchObject({
      ok: false,
      seq: 10,
      reason: expect.stringMatching(/checkpoint 10/),
    });
    expect(await verifyAuditExport(lines, key, { tenant: "0".repeat(20) })).toMatchObject({ ok: false, seq: 0 });
    expect(await verifyAuditExport(lines.slice(1), key)).toMatchObject({ ok: false, seq: 0 });
  });
});
