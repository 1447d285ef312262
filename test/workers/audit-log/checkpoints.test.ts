import { expect, it } from "vitest";
import { canonicalBytes } from "../../../worker/core/audit/canonical-json";
import { genesisHash, verifyChain } from "../../../worker/core/audit/codec";
import { verifyCheckpoint } from "../../../worker/core/audit/checkpoint";
import { sha256, toHex } from "../../../worker/core/audit/encoding";
import { CompactRange, leafHash } from "../../../worker/core/audit/merkle";
import { merkleRoot } from "../../../durable-objects/audit/merkle-store";
import { api, expectStatus } from "../helpers";
import { auditRows, smallChain, withSql } from "./helpers";

/** RFC 6962 root (hex) of the first `size` entries, recomputed from the entries themselves. */
async function rootOf(entries: readonly { entry: unknown }[], size: number): Promise<string> {
  const range = new CompactRange(sha256);
  for (const e of entries.slice(0, size)) await range.append(await leafHash(sha256, canonicalBytes(e.entry)));
  return toHex(await range.root());
}

type Offline = { ok: true; size: number; checkpoints: number } | { ok: false; reason: string };

/**
 * Offline verification of a JSON Lines export with only the public key (fetched separately) and
 * the tenant whose log it claims to be: every checkpoint signature, the chain from the tenant's
 * genesis, each Merkle checkpoint's root recomputed from the entries, and no checkpoint beyond
 * the last entry. (Since the Merkle cut-over, a new tenant's checkpoints are all Merkle ones.)
 */
async function verifyExport(text: string, vkey: string, tenantId: string): Promise<Offline> {
  let lines: { kind: string; [k: string]: any }[];
  try {
    lines = text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
  } catch {
    return { ok: false, reason: "not JSON Lines" };
  }
  const [header, ...rest] = lines;
  const origin = `vault.test/audit/v2/${tenantId}`;
  if (header?.kind !== "header" || header.tenant !== tenantId || header.origin !== origin || header.from_seq !== 1)
    return { ok: false, reason: "bad header" };
  if (header.start_prev_hash !== (await genesisHash(tenantId)))
    return { ok: false, reason: "start hash is not the tenant's genesis" };
  const entries = rest.filter((l) => l.kind === "entry").map((l) => ({ entry: l.entry, hash: l.hash as string }));
  const sizes: number[] = [];
  for (const cp of rest.filter((l) => l.kind === "checkpoint")) {
    const opened = await verifyCheckpoint(cp.note, vkey, { origin });
    if (!opened.ok) return { ok: false, reason: `checkpoint: ${opened.reason}` };
    if (opened.checkpoint.size !== cp.size)
      return { ok: false, reason: "checkpoint line size differs from the signed size" };
    if (opened.checkpoint.size > entries.length)
      return { ok: false, reason: "truncated: a checkpoint covers more entries than the export holds" };
    if (opened.checkpoint.hash !== (await rootOf(entries, opened.checkpoint.size)))
      return { ok: false, reason: `checkpoint ${cp.size}: Merkle root differs` };
    sizes.push(opened.checkpoint.size);
  }
  if (rest.some((l) => l.kind !== "entry" && l.kind !== "checkpoint")) return { ok: false, reason: "unknown line" };
  const chain = await verifyChain(entries, header.start_prev_hash, 1, { tenant: tenantId });
  if (!chain.ok) return { ok: false, reason: `seq ${chain.seq}: ${chain.reason}` };
  return { ok: true, size: chain.head.seq, checkpoints: sizes.length };
}

/** A tenant with 25+ entries (so at least two checkpoints), the public key, and its export. */
async function exportedTenant() {
  const chain = await smallChain(22);
  const pub = await expectStatus<{ key_name: string; verifier_key: string; algorithm: string }>(
    await api(null, "GET", "/v1/audit/public-key"),
    200,
  );
  const res = await api(chain.adminToken, "GET", "/v1/audit/export");
  expect(res.headers.get("content-type")).toMatch(/^application\/x-ndjson/);
  const text = await res.text();
  return { ...chain, pub, text };
}

it("checkpoints are signed notes that verify with the published key, for this tenant's origin", async () => {
  const { tenantId, adminToken, size } = await smallChain(22);
  const pub = await expectStatus<{ key_name: string; verifier_key: string; algorithm: string }>(
    await api(null, "GET", "/v1/audit/public-key"),
    200,
  );
  expect(pub).toMatchObject({
    key_name: "vault.test/audit/v2",
    legacy_key_name: "vault.test/audit",
    algorithm: "ed25519",
  });
  const { items } = await expectStatus<{ items: { size: number; note: string }[] }>(
    await api(adminToken, "GET", "/v1/audit/checkpoints"),
    200,
  );
  expect(items.length).toBeGreaterThanOrEqual(Math.floor(size / 10));
  const rows = await auditRows(tenantId);
  const origin = `vault.test/audit/v2/${tenantId}`;
  for (const cp of items) {
    // Merkle checkpoints: the root line is the RFC 6962 root of entries 1..size, recomputed here
    // from the entries and equal to the stored tree's.
    const opened = await verifyCheckpoint(cp.note, pub.verifier_key, { origin });
    const root = await rootOf(
      rows.map((r) => ({ entry: JSON.parse(r.entry) as unknown })),
      cp.size,
    );
    expect(opened).toEqual({ ok: true, checkpoint: { origin, size: cp.size, hash: root } });
    expect(await withSql(tenantId, (sql) => toHex(merkleRoot(sql, cp.size)))).toBe(root);
    // Denials beside it: not for another tenant's log, and not under the legacy (hash-chain) key name.
    expect(
      await verifyCheckpoint(cp.note, pub.verifier_key, { origin: "vault.test/audit/v2/other-tenant" }),
    ).toMatchObject({ ok: false });
    expect(
      await verifyCheckpoint(cp.note, (pub as { legacy_verifier_key?: string }).legacy_verifier_key!, { origin }),
    ).toMatchObject({ ok: false, reason: "no signature by a trusted key" });
  }
  // Checkpoints come at least every AUDIT_CHECKPOINT_EVERY=10 entries.
  const sizes = [0, ...items.map((c) => c.size)];
  for (let i = 1; i < sizes.length; i++) expect(sizes[i]! - sizes[i - 1]!).toBeLessThanOrEqual(10);
});

it("a JSON Lines export holds header, entries and checkpoints and verifies offline with only the public key", async () => {
  const { tenantId, text, pub } = await exportedTenant();
  const rows = await auditRows(tenantId);
  const kinds = text
    .trim()
    .split("\n")
    .map((l) => (JSON.parse(l) as { kind: string }).kind);
  expect(kinds[0]).toBe("header");
  expect(kinds.filter((k) => k === "header")).toHaveLength(1);
  expect(kinds.filter((k) => k === "checkpoint").length).toBeGreaterThanOrEqual(2);
  // The export records itself, so it holds every entry up to and including audit.exported.
  const entryCount = kinds.filter((k) => k === "entry").length;
  expect(rows.slice(0, entryCount).at(-1)!.type).toBe("audit.exported");
  expect(await verifyExport(text, pub.verifier_key, tenantId)).toEqual({
    ok: true,
    size: entryCount,
    checkpoints: kinds.filter((k) => k === "checkpoint").length,
  });
});

it("one tampered export line makes offline verification fail", async () => {
  const { tenantId, text, pub } = await exportedTenant();
  expect((await verifyExport(text, pub.verifier_key, tenantId)).ok).toBe(true); // positive control
  const lines = text.trim().split("\n");
  const at = (kind: string, n = 0) =>
    lines.map((l, i) => [l, i] as const).filter(([l]) => JSON.parse(l).kind === kind)[n]![1];
  const replace = (i: number, f: (o: any) => void) => {
    const copy = [...lines];
    const o = JSON.parse(copy[i]!);
    f(o);
    copy[i] = JSON.stringify(o);
    return copy.join("\n");
  };
  const entryLine = at("entry", 5);
  const cpLine = at("checkpoint", 1);
  const firstCp = JSON.parse(lines[at("checkpoint", 0)]!) as { size: number };
  const variants: Record<string, string> = {
    "an entry's details edited": replace(entryLine, (o) => (o.entry.details.purpose = "forged")),
    "an entry's actor edited": replace(entryLine, (o) => (o.entry.actor.identity = "user:x@test")),
    "an entry line deleted": lines.filter((_, i) => i !== entryLine).join("\n"),
    "a checkpoint's signed size edited": replace(
      cpLine,
      (o) => (o.note = o.note.replace(/\n(\d+)\n/, (_m: string, n: string) => `\n${Number(n) - 1}\n`)),
    ),
    "a checkpoint's line size edited": replace(cpLine, (o) => (o.size += 1)),
    "entries after a checkpoint truncated": lines
      .filter((l) => JSON.parse(l).kind !== "entry" || JSON.parse(l).seq < firstCp.size)
      .join("\n"),
    "the header's tenant changed": replace(0, (o) => (o.tenant = "someone-else")),
  };
  for (const [name, tampered] of Object.entries(variants)) {
    expect(tampered, name).not.toBe(text.trim());
    expect(await verifyExport(tampered, pub.verifier_key, tenantId), name).toMatchObject({ ok: false });
  }
});
