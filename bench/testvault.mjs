// `npm run bench -- --only testvault` (or `node bench/testvault.mjs [--runs=N]`): how long
// `startTestVault()` of @ghoststack/vault-testing (issue 17) takes to start, from the built package
// (sdk/dist and testing/dist, both built first by this script). Cold: the first start in a fresh Node process, RUNS
// processes one after another, measured with and without the package import. Warm: RUNS further
// starts in one process after a first one. Every start has one credential fixture and is checked
// with a lease through the SDK before it counts. Goals: warm p50 ≤ 1 s, cold p50 ≤ 3 s. Writes
// bench/results/testvault.json and the test-vault section of bench/RESULTS.md.

import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { rewriteResultsMd } from "./lib/report.mjs";
import { ROOT, treeState } from "./lib/vault.mjs";

const SELF = fileURLToPath(import.meta.url);
const DIST = path.join(ROOT, "testing", "dist", "index.js");
const argv = process.argv.slice(2);
const arg = (name, fallback) => Number(argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? fallback);

/** Child mode: `starts` starts in this process; prints one JSON line of { importMs, startMs[], stopMs[] }. */
async function child(starts) {
  const t0 = performance.now();
  const { startTestVault } = await import(DIST);
  const importMs = performance.now() - t0;
  const startMs = [],
    stopMs = [];
  for (let i = 0; i < starts; i++) {
    const s = performance.now();
    const vault = await startTestVault({ credentials: { bench: `sk-bench-${i}` } });
    startMs.push(performance.now() - s);
    try {
      // A start only counts if the vault serves: one lease through the SDK.
      if ((await vault.client.lease("bench")).value !== `sk-bench-${i}`)
        throw new Error(`start ${i}: wrong leased value`);
    } finally {
      const e = performance.now();
      await vault.stop();
      stopMs.push(performance.now() - e);
    }
  }
  console.log(JSON.stringify({ importMs, startMs, stopMs }));
}

/** Runs a child process with `starts` starts and returns its measurements. */
function spawnChild(starts) {
  const out = execFileSync(process.execPath, [SELF, `--child=${starts}`], {
    cwd: ROOT,
    encoding: "utf8",
    maxBuffer: 16 << 20,
    timeout: 120_000,
  });
  const lines = out.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
}

/** p50/p95/max of a sample (nearest rank), rounded to ms. */
function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q) => Math.round(s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]);
  return { n: s.length, p50: at(0.5), p95: at(0.95), max: Math.round(s[s.length - 1]) };
}

const goal = (value, target) => ({ value, goal: `≤ ${target}`, met: value <= target });

/** Measures cold and warm starts, writes the results and the RESULTS.md section. */
export async function main() {
  const runs = arg("runs", 10);
  const started = Date.now();
  const log = (line) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}`);
  const loadAvg = () => os.loadavg().map((x) => Math.round(x * 100) / 100);
  execFileSync("npm", ["run", "build", "-w", "sdk", "-w", "testing"], { cwd: ROOT, stdio: "ignore" });
  const result = {
    startedAt: new Date(started).toISOString(),
    source: treeState(),
    machine: {
      nproc: Number(execFileSync("nproc", ["--all"], { encoding: "utf8" }).trim()),
      cpuModel: os.cpus()[0]?.model ?? "unknown",
      node: process.version,
      loadAvgAtStart: loadAvg(),
    },
    settings: { runs },
  };
  const cold = [];
  for (let i = 0; i < runs; i++) {
    const c = spawnChild(1);
    cold.push(c);
    log(`cold ${i + 1}: import ${c.importMs.toFixed(0)} ms + start ${c.startMs[0].toFixed(0)} ms`);
  }
  const warmRun = spawnChild(runs + 1);
  const warm = warmRun.startMs.slice(1);
  log(
    `warm: ${warm.map((x) => x.toFixed(0)).join(", ")} ms (first start in that process ${warmRun.startMs[0].toFixed(0)} ms)`,
  );
  result.samples = { cold, warm: warmRun };
  result.summary = {
    "cold: import + first start (ms)": stats(cold.map((c) => c.importMs + c.startMs[0])),
    "cold: first start only (ms)": stats(cold.map((c) => c.startMs[0])),
    "warm: later starts in the same process (ms)": stats(warm),
    "stop (ms)": stats([...cold.flatMap((c) => c.stopMs), ...warmRun.stopMs]),
  };
  result.goals = {
    "warm start p50 (ms)": goal(result.summary["warm: later starts in the same process (ms)"].p50, 1000),
    "cold start p50, import included (ms)": goal(result.summary["cold: import + first start (ms)"].p50, 3000),
  };
  for (const [k, v] of Object.entries(result.goals))
    log(`${k}: ${v.value} (goal ${v.goal}) ${v.met ? "met" : "MISSED"}`);
  result.machine.loadAvgAtEnd = loadAvg();
  result.totalSeconds = Math.round((Date.now() - started) / 1000);
  const file = path.join(ROOT, "bench", "results", "testvault.json");
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  rewriteResultsMd(null);
  log(`done in ${result.totalSeconds} s; wrote ${path.relative(process.cwd(), file)}`);
}

const childArg = argv.find((a) => a.startsWith("--child="));
if (childArg) await child(Number(childArg.split("=")[1]));
else if (process.argv[1] === SELF) await main();
