// `npm run bench -- --only proxy` (or `node bench/proxy.mjs [--quick]`): the credential proxy
// against a plain pass-through Worker fetch of the same loopback upstream (issue 11
// "Performance"), on its own vault started like run.mjs does, plus OUTBOUND_ALLOW_INSECURE so a
// use policy may name http://127.0.0.1 (a test/dev setting production refuses). Bounded: 3 runs
// of 2.5 s per path and concurrency (1 s with --quick). Writes bench/results/proxy.json and the
// proxy section of bench/RESULTS.md (unless --quick).

import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { rewriteResultsMd } from "./lib/report.mjs";
import { BenchVault, ROOT, treeState } from "./lib/vault.mjs";
import { proxyVsPassthrough } from "./scenarios/proxy.mjs";

const quick = process.argv.includes("--quick");
const settings = { runs: 3, closed: { concurrency: 16, durationMs: quick ? 1000 : 2500, warmupMs: quick ? 100 : 400, maxRequests: 100_000 } };
const started = Date.now();
const log = (line) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}`);
const loadAvg = () => os.loadavg().map((x) => Math.round(x * 100) / 100);

let pinned = true;
try {
  // Load generator and upstream on core 0, workerd on core 1, as in run.mjs.
  execFileSync("taskset", ["-a", "-cp", "0", String(process.pid)], { stdio: "ignore" });
} catch {
  pinned = false;
  console.warn("taskset failed (util-linux missing?); running unpinned");
}
const vault = new BenchVault({ core: 1, vars: ["OUTBOUND_ALLOW_INSECURE:true"] });
for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]]) process.on(signal, () => void vault.stop().finally(() => process.exit(code)));
const result = { startedAt: new Date(started).toISOString(), source: treeState(), machine: { nproc: Number(execFileSync("nproc", ["--all"], { encoding: "utf8" }).trim()), cpuModel: os.cpus()[0]?.model ?? "unknown", pinned, loadAvgAtStart: loadAvg() }, settings };
try {
  log(`vault up in ${(await vault.start()).toFixed(1)} s at ${vault.url}`);
  result.scenario = await proxyVsPassthrough({ ...settings, vault, url: vault.url, log, closed: { ...settings.closed, serverCpu: () => vault.groupCpuSeconds() } });
  for (const [k, v] of Object.entries(result.scenario.goals)) log(`  ${k}: ${v.value} (goal ${v.goal}) ${v.met ? "met" : "MISSED"}`);
} catch (error) {
  result.error = String(error.stack ?? error);
  console.error(error);
  if (vault.tail.length) console.error(`last wrangler lines:\n${vault.tail.join("\n")}`);
} finally {
  await vault.stop();
}
result.machine.loadAvgAtEnd = loadAvg();
result.totalSeconds = Math.round((Date.now() - started) / 1000);
const file = path.join(ROOT, "bench", "results", quick ? "proxy-quick.json" : "proxy.json");
writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
if (!quick && !result.error) rewriteResultsMd(null);
log(`done in ${result.totalSeconds} s; wrote ${path.relative(process.cwd(), file)}`);
process.exit(result.error ? 1 : 0);
