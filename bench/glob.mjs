// `node bench/glob.mjs` (or `npm run bench -- --only glob`): issue 9 §6, glob matching is linear.
// Runs in Node on one core, no Vault needed. Loads worker/core/auth/glob.ts through esbuild, then times
// a hostile pattern (a dozen `*`) against identities of 1, 10 and 100 KB, next to baselines taken
// in the same run: a benign pattern on the same text, and one pass of `String.includes` over it.
// The backtracking regex the matcher replaced is timed on inputs of only 16-24 characters, since
// its cost grows like n^12 and 10 KB would never finish. Writes bench/results/glob.json.

import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { transformSync } from "esbuild";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const source = readFileSync(path.join(ROOT, "worker/core/auth/glob.ts"), "utf8");
const { code } = transformSync(source, { loader: "ts", format: "esm" });
const { globMatches } = await import(`data:text/javascript;base64,${Buffer.from(code).toString("base64")}`);

// 13 stars; the text has no `b`, so the last middle piece scans the whole text.
const HOSTILE = "*a".repeat(12) + "*b*";
// The worst case for the piece search: a 255-character piece that almost matches everywhere
// (O(text × piece)); the schemas cap patterns at 256, identities at 248 and claims at 512.
const LONG_PIECE = "*" + "a".repeat(254) + "b";
const BENIGN = "agent:*";

/** Median microseconds per call of `fn`, over `runs` timed batches of `reps` calls each. */
function time(fn, { reps, runs = 7 }) {
  for (let i = 0; i < reps; i++) fn(); // warm up the JIT
  const samples = [];
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < reps; i++) fn();
    samples.push(Number(process.hrtime.bigint() - t0) / 1000 / reps);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

/** The replaced implementation, kept here only to show what it cost. */
function oldRegexMatches(glob, text) {
  const body = Array.from(glob, (ch) =>
    ch === "*" ? ".*" : ch === "?" ? "." : ch.replace(/[\\^$.|+()[\]{}]/g, "\\$&"),
  ).join("");
  return new RegExp(`^${body}$`, "s").test(text);
}

const linear = [];
for (const kb of [1, 10, 100]) {
  const text = "agent:" + "a".repeat(kb * 1024 - 6);
  if (globMatches(HOSTILE, text) !== false || globMatches(BENIGN, text) !== true)
    throw new Error("matcher gave a wrong answer");
  const reps = Math.max(5, Math.round(2000 / kb));
  const hostileUs = time(() => globMatches(HOSTILE, text), { reps });
  const benignUs = time(() => globMatches(BENIGN, text), { reps });
  const longPieceUs = time(() => globMatches(LONG_PIECE.slice(0, -1) + "b*", text), {
    reps: Math.max(3, Math.round(reps / 50)),
  });
  const scanUs = time(() => text.includes("b"), { reps });
  linear.push({ kb, hostileUs, benignUs, longPieceUs, scanUs, hostileOverScan: hostileUs / scanUs });
}

const regex = [];
for (const n of [16, 20, 24]) {
  const text = "a".repeat(n);
  regex.push({
    chars: n,
    oldRegexUs: time(() => oldRegexMatches(HOSTILE, text), { reps: 1, runs: 3 }),
    linearUs: time(() => globMatches(HOSTILE, text), { reps: 1000 }),
  });
}

const at10 = linear.find((r) => r.kb === 10);
const result = {
  startedAt: new Date().toISOString(),
  node: process.version,
  pattern: HOSTILE,
  longPiecePattern: LONG_PIECE.slice(0, -1) + "b*",
  linear,
  oldRegexOnShortInputs: regex,
  summary: {
    hostile10kbUs: at10.hostileUs,
    underOneMillisecond: at10.hostileUs < 1000,
    growth1to100kb: linear[2].hostileUs / linear[0].hostileUs,
  },
};
writeFileSync(path.join(ROOT, "bench/results/glob.json"), JSON.stringify(result, null, 2) + "\n");

const f = (us) => `${us.toFixed(1)} µs`;
console.log(`hostile pattern ${HOSTILE}`);
for (const r of linear)
  console.log(
    `  ${String(r.kb).padStart(3)} KB: hostile ${f(r.hostileUs)}, benign ${f(r.benignUs)}, 255-char piece ${f(r.longPieceUs)}, includes() scan ${f(r.scanUs)} (hostile/scan ${r.hostileOverScan.toFixed(1)}x)`,
  );
for (const r of regex)
  console.log(`  old regex, ${r.chars} chars: ${f(r.oldRegexUs)} (linear matcher ${f(r.linearUs)})`);
console.log(
  `10 KB hostile: ${f(at10.hostileUs)} per match (${result.summary.underOneMillisecond ? "under" : "NOT under"} 1 ms); 1 KB → 100 KB grows ${result.summary.growth1to100kb.toFixed(1)}x`,
);
