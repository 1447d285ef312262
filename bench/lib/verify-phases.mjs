// Where GET /v1/audit/verify spends its time, measured in Node on the exported entries with the
// very chain code the Durable Object runs (bundled with esbuild). workerd and Node share V8; their
// SHA-256 comes from BoringSSL and OpenSSL respectively, so the split is indicative, not exact.

import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";

const HERE = path.dirname(new URL(import.meta.url).pathname);

async function loadChain() {
  const dir = mkdtempSync(path.join(os.tmpdir(), "ghostvault-bench-chain-"));
  const outfile = path.join(dir, "chain.mjs");
  await build({
    entryPoints: [path.join(HERE, "verify-phases-entry.ts")],
    bundle: true,
    format: "esm",
    platform: "node",
    outfile,
    logLevel: "silent",
  });
  try {
    return await import(pathToFileURL(outfile).href);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const time = async (fn) => {
  const t0 = performance.now();
  await fn();
  return Math.round((performance.now() - t0) * 10) / 10;
};

const LEAF_PREFIX = Uint8Array.of(0x00);

/** Milliseconds per phase over all `texts` (stored canonical entry JSON), one pass each. */
export async function profileVerify(texts, tenantId) {
  const chain = await loadChain();
  let parsed = [],
    valid = [];
  const out = { entries: texts.length };
  // A v2 entry's hash is SHA-256(0x00 ‖ its bytes) (docs/audit-events.md "Entry format").
  const entryHash = (t) => createHash("sha256").update(LEAF_PREFIX).update(t, "utf8").digest("hex");
  out.sha256SyncHex = await time(() => {
    for (const t of texts) entryHash(t);
  });
  out.jsonParse = await time(() => {
    parsed = texts.map((t) => JSON.parse(t));
  });
  out.zodEntrySchema = await time(() => {
    valid = parsed.map((e) => chain.auditEntrySchema.parse(e));
  });
  out.canonicalize = await time(() => {
    for (const e of valid) chain.canonicalBytes(e);
  });
  const bytes = valid.map((e) => chain.canonicalBytes(e));
  out.webCryptoSha256Awaited = await time(async () => {
    for (const b of bytes) chain.toHex(await chain.sha256(b));
  });
  const rows = parsed.map((entry, i) => ({ entry, hash: entryHash(texts[i]) }));
  const genesis = await chain.genesisHash(tenantId);
  out.verifyChainTotal = await time(async () => {
    // Pages of 2000, as durable-objects/audit/query.ts does.
    let prev = genesis;
    for (let at = 0; at < rows.length; at += 2000) {
      const r = await chain.verifyChain(rows.slice(at, at + 2000), prev, at + 1, { tenant: tenantId });
      if (!r.ok) throw new Error(`chain does not verify in Node at ${r.seq}: ${r.reason}`);
      prev = r.head.hash;
    }
  });
  return out;
}
