// `npm run bench [-- --quick] [-- --source=head|tree]`: the benchmarks of issue 6 against a local
// Vault on workerd. The load generator pins itself to core 0 and workerd to core 1 (taskset);
// every scenario runs 3 times and reports medians, and every ratio is taken against baselines
// measured in the same run. Writes bench/results/latest.json (or quick.json) and bench/RESULTS.md.
//
//   --quick            small sizes, under 3 minutes
//   --source=head      benchmark a snapshot of git HEAD (plus the bench routes) instead of the
//                      working tree, so edits in progress do not change what is measured;
//                      --source=<revision> snapshots that commit instead (A/B runs)
//   --max-seed-seconds=N   seeding budget for the 1M-lease level (default 240)
//   --only=glob        only the glob matcher scenario (bench/glob.mjs, in Node, no Vault)
//   --only=proxy       only the credential proxy vs pass-through scenario (bench/proxy.mjs)
//   --only=testvault   only the test vault start-up scenario (bench/testvault.mjs, issue 17)
//   --only=dashboard   only the dashboard render-time scenario (bench/dashboard.mjs, issue 14)
//   --only=merkle      only the audit Merkle tree scenario (bench/merkle.mjs, issue 10)
//   --only=2,5         run scenario 1 (every other one needs its rates) plus the listed ones
//                      (9 = the cold tenant's first lease, issue 16 goal 4)
//   --var=KEY:VALUE    extra `wrangler dev --var` (repeatable), e.g. --var=LEASE_EXPIRY_BATCH:50
//                      to try a setting; results then say which vars were set
//   --check            compare every ratio with the committed results of the same mode
//                      (results/quick.json with --quick) and exit 1 if any regressed by more
//                      than 20% (bench/lib/check.mjs); the reference file is left as it is

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { BenchVault, DEVTOOLS_NETWORK, makeSnapshot, ROOT, treeState } from "./lib/vault.mjs";
import { writeReport } from "./lib/report.mjs";
import { compareRatios, formatComparison } from "./lib/check.mjs";
import { auditVerify, kmsColdMiss, prepareColdTenants } from "./scenarios/audit-kms.mjs";
import { coldTenant, prepareColdStarts } from "./scenarios/cold.mjs";
import { activeLeaseScaling, expiryStorm } from "./scenarios/leases.mjs";
import { credentialWrites, leaseOpenLoop, leaseVsBaselines, manyTenants } from "./scenarios/throughput.mjs";

const args = process.argv.slice(2);
// `--only glob` / `--only=glob`: the in-process glob scenario (issue 9 §6) needs no Vault.
if (args.includes("--only=glob") || (args.includes("--only") && args[args.indexOf("--only") + 1] === "glob")) {
  await import("./glob.mjs");
  process.exit(0);
}
// `--only proxy`: the credential proxy against a pass-through fetch (issue 11), on its own vault.
if (args.includes("--only=proxy") || (args.includes("--only") && args[args.indexOf("--only") + 1] === "proxy")) {
  await import("./proxy.mjs");
  process.exit(0);
}
// `--only testvault`: start-up time of the test vault package (issue 17), no wrangler vault.
if (
  args.includes("--only=testvault") ||
  (args.includes("--only") && args[args.indexOf("--only") + 1] === "testvault")
) {
  await import("./testvault.mjs").then((m) => m.main());
  process.exit(0);
}
// `--only dashboard`: dashboard pages against the JSON API's same pages (issue 14), on its own vault.
if (
  args.includes("--only=dashboard") ||
  (args.includes("--only") && args[args.indexOf("--only") + 1] === "dashboard")
) {
  await import("./dashboard.mjs");
  process.exit(0);
}
// `--only merkle`: the audit Merkle tree goals of issue 10 (bench/merkle.mjs), on its own vault.
if (args.includes("--only=merkle") || (args.includes("--only") && args[args.indexOf("--only") + 1] === "merkle")) {
  await import("./merkle.mjs");
  process.exit(0);
}
const flag = (name, fallback) => {
  const hit = args.find((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (!hit) return fallback;
  return hit.includes("=") ? hit.split("=")[1] : true;
};
const quick = flag("quick", false) === true;
const source = flag("source", "tree");
// Any other value is a git revision to snapshot (an A/B against an older commit).
if (typeof source !== "string" || source === "") throw new Error("--source must be head, tree or a git revision");
const only = flag("only", "") === "" ? null : new Set(["1", ...String(flag("only")).split(",")]);
const extraVars = args.filter((a) => a.startsWith("--var=")).map((a) => a.slice("--var=".length));
if (extraVars.some((v) => !/^[A-Z_]+:[^\s]+$/.test(v))) throw new Error("--var takes KEY:VALUE");
const check = flag("check", false) === true;
const wanted = (n) => only === null || only.has(String(n));

/** Sizes and durations; every loop is bounded by these in time and in count. */
const SETTINGS = quick
  ? {
      runs: 3,
      closed: { concurrency: 16, durationMs: 1000, warmupMs: 100, maxRequests: 100_000 },
      openMs: 1200,
      levels: [1_000, 10_000],
      stormSize: 3_000,
      stormBeforeMs: 1000,
      stormBeforeSamples: 200,
      stormMaxMs: 20_000,
      verifyEntries: 5_000,
      verifyPairs: 5,
      profileEntries: 5_000,
      coldBursts: 1,
      coldGapMs: 500,
      tenants: 20,
      coldStartTenants: 8,
      maxSeedSeconds: 0,
    }
  : {
      runs: 3,
      closed: { concurrency: 16, durationMs: 2500, warmupMs: 400, maxRequests: 500_000 },
      openMs: 4000,
      levels: [1_000, 10_000, 100_000, 1_000_000],
      stormSize: 100_000,
      stormBeforeMs: 3000,
      stormBeforeSamples: 1000,
      stormMaxMs: 150_000,
      verifyEntries: 100_000,
      verifyPairs: 3,
      profileEntries: 20_000,
      coldBursts: 2,
      coldGapMs: 1000,
      tenants: 1000,
      coldStartTenants: 20,
      maxSeedSeconds: Number(flag("max-seed-seconds", 240)),
    };

function pinSelf(core) {
  try {
    execFileSync("taskset", ["-a", "-cp", String(core), String(process.pid)], { stdio: "ignore" });
    return true;
  } catch {
    console.warn("taskset failed (util-linux missing?); running unpinned");
    return false;
  }
}

function machine() {
  const version = (p) => JSON.parse(readFileSync(path.join(ROOT, "node_modules", p, "package.json"), "utf8")).version;
  return {
    // --all: after pinning, plain nproc would count only the one core this process may use.
    nproc: Number(execFileSync("nproc", ["--all"], { encoding: "utf8" }).trim()),
    cpuModel: os.cpus()[0]?.model ?? "unknown",
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    node: process.version,
    wrangler: version("wrangler"),
    workerd: version("workerd"),
    loadAvgAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

function expiryBatch(root) {
  const set = extraVars.find((v) => v.startsWith("LEASE_EXPIRY_BATCH:"));
  if (set) return Number(set.split(":")[1]);
  const m = /LEASE_EXPIRY_BATCH\s*=\s*"?(\d+)/.exec(readFileSync(path.join(root, "wrangler.toml"), "utf8"));
  return m ? Number(m[1]) : 500; // worker/contract/config.ts default
}

/** The committed results of this mode (HEAD's copy, so an uncommitted run is never the reference). */
function referenceResults() {
  const rel = `bench/results/${quick ? "quick" : "latest"}.json`;
  try {
    return JSON.parse(
      execFileSync("git", ["show", `HEAD:${rel}`], {
        cwd: ROOT,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
        maxBuffer: 64 << 20,
      }),
    );
  } catch {
    throw new Error(`--check needs a committed ${rel} to compare with; run without --check and commit it first`);
  }
}

async function main() {
  const started = Date.now();
  const reference = check ? referenceResults() : null;
  const log = (line) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}`);
  const pinned = pinSelf(0);
  const info = { ...machine(), pinned: pinned ? { loadGenerator: 0, workerd: 1 } : null };
  const snap = source === "tree" ? null : makeSnapshot(source === "head" ? "HEAD" : source);
  const tree = treeState();
  const vault = new BenchVault({ core: 1, root: snap?.dir ?? ROOT, vars: extraVars });
  const ctx = { ...SETTINGS, vault, log, expiryBatch: expiryBatch(vault.root) };
  // Ctrl-C or a kill must not leave workerd holding the port and the temp state behind.
  for (const [signal, code] of [
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ]) {
    process.on(
      signal,
      () =>
        void vault.stop().finally(() => {
          snap?.cleanup();
          process.exit(code);
        }),
    );
  }
  const results = {
    mode: quick ? "quick" : "full",
    startedAt: new Date(started).toISOString(),
    source: { kind: source, commit: tree.commit, uncommittedProductFiles: source === "tree" ? tree.dirty : [] },
    machine: info,
    settings: { ...SETTINGS, only: only && [...only], extraVars, devtoolsNetwork: DEVTOOLS_NETWORK },
    scenarios: {},
    timings: {},
  };
  const stage = async (name, fn) => {
    const t0 = Date.now();
    log(`${name} ...`);
    try {
      return await fn();
    } finally {
      results.timings[name] = {
        seconds: Math.round((Date.now() - t0) / 100) / 10,
        loadAvg1m: Math.round(os.loadavg()[0] * 100) / 100,
      };
    }
  };
  try {
    const up = await vault.start();
    ctx.url = vault.url;
    log(
      `vault up in ${up.toFixed(1)} s at ${vault.url} (source: ${source}${snap ? ` ${snap.commit.slice(0, 8)}` : ""}; DevTools Network events ${DEVTOOLS_NETWORK})`,
    );
    const cold = wanted(7) ? await stage("setup: cold tenants", () => prepareColdTenants(ctx)) : null;
    const coldStarts = wanted(9) ? await stage("setup: cold-start tenants", () => prepareColdStarts(ctx)) : null;
    if (cold || coldStarts) await stage("restart (empties every Durable Object's memory)", () => vault.restart());
    ctx.url = vault.url;
    const sc = results.scenarios;
    // First after the restart, before any other scenario could wake these tenants' objects.
    if (coldStarts) sc.coldTenant = await stage("9 cold tenant first lease", () => coldTenant(ctx, coldStarts));
    ctx.closed = { ...ctx.closed, serverCpu: () => vault.groupCpuSeconds() };
    sc.leaseVsBaselines = await stage("1 lease vs baselines (closed loop)", () => leaseVsBaselines(ctx));
    ctx.leaseRate = sc.leaseVsBaselines.median.lease.rps;
    // The slowest run's rate: what the expiry storm issues at (see leases.mjs).
    ctx.leaseRateFloor = Math.min(...sc.leaseVsBaselines.runs.map((x) => x.lease.rps));
    if (wanted(2))
      sc.leaseOpenLoop = await stage("2 lease latency at 50% (open loop)", () =>
        leaseOpenLoop(ctx, sc.leaseVsBaselines),
      );
    if (wanted(7)) sc.kmsColdMiss = await stage("7 KMS cold miss", () => kmsColdMiss(ctx, cold, ctx.leaseRate));
    if (wanted(3)) sc.credentialWrites = await stage("3 credential create/rotate", () => credentialWrites(ctx));
    if (wanted(4)) sc.activeLeaseScaling = await stage("4 active-lease scaling", () => activeLeaseScaling(ctx));
    if (wanted(6) && sc.activeLeaseScaling)
      sc.auditVerify = await stage("6 audit verification", () => auditVerify(ctx, sc.activeLeaseScaling.tenant));
    if (wanted(5)) sc.expiryStorm = await stage("5 expiry storm", () => expiryStorm(ctx));
    if (wanted(8)) sc.manyTenants = await stage("8 many tenants", () => manyTenants(ctx));
  } catch (error) {
    results.error = String(error.stack ?? error);
    console.error(error);
    if (vault.tail.length) console.error(`last wrangler lines:\n${vault.tail.join("\n")}`);
  } finally {
    await vault.stop();
    snap?.cleanup();
  }
  results.totalSeconds = Math.round((Date.now() - started) / 1000);
  results.seedRetries = ctx.seedRetries ?? 0;
  results.machine.loadAvgAtEnd = os.loadavg().map((x) => Math.round(x * 100) / 100);
  for (const s of Object.values(results.scenarios)) delete s.tenant;
  // A partial or experimental run must not replace the published results.
  // A --check run is judged against the committed results and must not replace them either.
  const file = writeReport(results, { publish: !check && only === null && extraVars.length === 0 });
  log(`done in ${results.totalSeconds} s; wrote ${path.relative(process.cwd(), file)}`);
  if (reference) {
    const verdict = compareRatios(reference, results);
    for (const line of formatComparison(verdict)) console.log(line);
    if (!verdict.ok) process.exit(1);
  }
  process.exit(results.error ? 1 : 0);
}

main();
