// The frame of a scenario that runs on its own vault (bench/proxy.mjs, bench/dashboard.mjs): start
// the vault, run, log the goals, always stop the vault, write the result file and exit with its
// outcome.

import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

/** The 1/5/15-minute load averages, rounded: shared machines make them part of every result. */
export const loadAvg = () => os.loadavg().map((x) => Math.round(x * 100) / 100);

/** A logger that prefixes seconds since `started`. */
export function elapsedLog(started) {
  return (line) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}`);
}

/** Pins this process (load generator) to core 0, workerd going to core 1 as in run.mjs; false when taskset is missing. */
export function pinToCore0() {
  try {
    execFileSync("taskset", ["-a", "-cp", "0", String(process.pid)], { stdio: "ignore" });
    return true;
  } catch {
    console.warn("taskset failed (util-linux missing?); running unpinned");
    return false;
  }
}

/** The machine facts every result records. */
export function machineFacts(pinned) {
  return {
    nproc: Number(execFileSync("nproc", ["--all"], { encoding: "utf8" }).trim()),
    cpuModel: os.cpus()[0]?.model ?? "unknown",
    pinned,
    loadAvgAtStart: loadAvg(),
  };
}

/**
 * Runs `scenario()` (which returns its goals) on `vault`, records any error in `result`, stops the
 * vault, writes `result` to `file`, calls `afterWrite` on success, and exits (1 on error).
 */
export async function runOnOwnVault({ vault, result, started, log, file, scenario, afterWrite }) {
  try {
    log(`vault up in ${(await vault.start()).toFixed(1)} s at ${vault.url}`);
    const goals = await scenario();
    for (const [k, v] of Object.entries(goals)) log(`  ${k}: ${v.value} (goal ${v.goal}) ${v.met ? "met" : "MISSED"}`);
  } catch (error) {
    result.error = String(error.stack ?? error);
    console.error(error);
    if (vault.tail.length) console.error(`last wrangler lines:\n${vault.tail.join("\n")}`);
  } finally {
    await vault.stop();
  }
  result.machine.loadAvgAtEnd = loadAvg();
  result.totalSeconds = Math.round((Date.now() - started) / 1000);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  if (!result.error) afterWrite?.();
  log(`done in ${result.totalSeconds} s; wrote ${path.relative(process.cwd(), file)}`);
  process.exit(result.error ? 1 : 0);
}
