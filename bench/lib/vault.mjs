// Starts a benchmark Vault: `wrangler dev` for the vault and the KMS emulator, like dev/start.mjs,
// but with TEST_HOOKS, its own temp persist dir and port, and pinned to one core with taskset
// so the load generator (pinned to the other core by run.mjs) does not compete with workerd.

import { execFileSync, execSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ensureDevVars, readDevVars } from "../../dev/dev-vars.mjs";
import { spawnGroup, stopGroup } from "../../dev/process-group.mjs";
import { quietDevtoolsNetwork } from "./devtools.mjs";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const WRANGLER_BIN = path.join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
/** Files the bench adds to the Worker build; copied over a snapshot of HEAD. */
const BENCH_OVERLAY = ["worker/routes/bench.ts"];
const HOST = "127.0.0.1";
const STARTUP_TIMEOUT_MS = 120_000;
const CHILD_ENV = { ...process.env, WRANGLER_SEND_METRICS: "false" };
/**
 * DevTools Network events off (devtools.mjs): wrangler's proxy relays every subrequest's events to
 * its Node process, ~4 ms of CPU on the vault's core that no deployed Worker pays.
 * BENCH_DEVTOOLS_NETWORK=on keeps wrangler's default, to measure what the relay costs.
 */
export const DEVTOOLS_NETWORK = process.env.BENCH_DEVTOOLS_NETWORK === "on" ? "on" : "off";

/** A free loopback port, chosen by the kernel. */
function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, HOST, () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** Runs a command with a wall-clock bound, pinned like workerd. */
function runPinned(core, cwd, args, timeoutMs) {
  execFileSync("taskset", ["-c", String(core), process.execPath, WRANGLER_BIN, ...args], {
    cwd,
    env: CHILD_ENV,
    stdio: ["ignore", "pipe", "pipe"],
    timeout: timeoutMs,
  });
}

/**
 * A running benchmark vault. `start()` applies the D1 migrations (first time only) and boots
 * `wrangler dev`; `restart()` stops it and boots it again on the same state, so every Durable
 * Object starts with an empty memory (cold KEK caches); `stop()` ends the group and deletes the
 * temp state unless `keepState`.
 */
export class BenchVault {
  constructor({ core = 1, root = ROOT, vars = [], log = () => {} } = {}) {
    this.vars = vars;
    this.core = core;
    this.root = root;
    this.log = log;
    this.persistDir = mkdtempSync(path.join(os.tmpdir(), "ghostvault-bench-"));
    this.child = undefined;
    this.tail = [];
    this.bootstrapSecret = ensureDevVars(ROOT).vars.BOOTSTRAP_SECRET;
    this.emulatorSecret = readDevVars(path.join(ROOT, "dev", "kms", ".dev.vars")).SECRET_ACCESS_KEY;
  }

  async start() {
    if (!existsSync(WRANGLER_BIN)) throw new Error("wrangler is not installed; run `npm ci` first");
    if (!this.migrated) {
      runPinned(
        this.core,
        this.root,
        ["d1", "migrations", "apply", "DB", "--local", "-c", "wrangler.toml", "--persist-to", this.persistDir],
        120_000,
      );
      this.migrated = true;
    }
    this.port = await freePort();
    this.inspectorPort = await freePort();
    this.url = `http://${HOST}:${this.port}`;
    const args = [
      WRANGLER_BIN,
      "dev",
      "-c",
      "wrangler.toml",
      "-c",
      "dev/kms/wrangler.toml",
      "--ip",
      HOST,
      "--port",
      String(this.port),
      "--inspector-ip",
      HOST,
      "--inspector-port",
      String(this.inspectorPort),
      "--persist-to",
      this.persistDir,
      "--show-interactive-dev-session=false",
      "--var",
      "TEST_HOOKS:true",
      "--var",
      "RATE_LIMITS:off",
      "--log-level",
      process.env.BENCH_WRANGLER_LOG ?? "warn",
      ...this.vars.flatMap((v) => ["--var", v]),
    ];
    // taskset execs the command, so the group leader's pid is wrangler's and workerd inherits the mask.
    this.child = spawnGroup("taskset", ["-c", String(this.core), process.execPath, ...args], {
      cwd: this.root,
      env: CHILD_ENV,
    });
    for (const stream of [this.child.stdout, this.child.stderr]) {
      stream.setEncoding("utf8");
      stream.on("data", (chunk) => {
        this.tail.push(...chunk.split("\n"));
        this.tail.splice(0, Math.max(0, this.tail.length - 60));
      });
    }
    const started = Date.now();
    while (Date.now() - started < STARTUP_TIMEOUT_MS) {
      if (this.child.exitCode !== null) throw new Error(`wrangler dev exited early:\n${this.tail.join("\n")}`);
      let up = false;
      try {
        const res = await fetch(`${this.url}/v1/bench/echo`, { signal: AbortSignal.timeout(2000) });
        if (res.status === 404) throw new Error("bench routes answer 404: TEST_HOOKS did not reach the Worker");
        up = res.ok;
      } catch (error) {
        if (String(error.message).includes("TEST_HOOKS")) throw error;
      }
      if (up) {
        if (DEVTOOLS_NETWORK === "off") this.closeDevtools = await quietDevtoolsNetwork(HOST, this.inspectorPort);
        return (Date.now() - started) / 1000;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`vault did not come up within ${STARTUP_TIMEOUT_MS / 1000} s:\n${this.tail.join("\n")}`);
  }

  /**
   * CPU seconds used so far by every process of the group (wrangler's Node proxy and workerd,
   * which runs the vault, the KMS emulator and local D1). Per-request server CPU is far less
   * sensitive to other load on a shared machine than throughput is. Clock ticks are 10 ms.
   */
  groupCpuSeconds() {
    const tick = 100; // USER_HZ on Linux
    let total = 0;
    for (const pid of this.#groupPids()) {
      try {
        // Fields after the ")" of comm: utime is the 12th and stime the 13th (proc(5) fields 14, 15).
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        total += (Number(rest[11]) + Number(rest[12])) / tick;
      } catch {
        // The process ended meanwhile.
      }
    }
    return total;
  }

  /** Resident memory (bytes) of wrangler/workerd's process group: every object's memory is in workerd. */
  groupRssBytes() {
    let total = 0;
    for (const pid of this.#groupPids()) {
      try {
        const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
        if (m) total += Number(m[1]) * 1024;
      } catch {
        // The process ended meanwhile.
      }
    }
    return total;
  }

  /** The pids of wrangler's process group (none before start). */
  #groupPids() {
    if (!this.child) return [];
    try {
      return execFileSync("ps", ["-o", "pid=", "-g", String(this.child.pid)], { encoding: "utf8" })
        .split("\n")
        .map((l) => l.trim())
        .filter(Boolean);
    } catch {
      return [];
    }
  }

  /** The pids of workerd processes in our group, for CPU accounting. */
  workerdPids() {
    if (!this.child) return [];
    try {
      const out = execFileSync("ps", ["-o", "pid=,comm=", "-g", String(this.child.pid)], { encoding: "utf8" });
      return out
        .split("\n")
        .map((l) => l.trim().split(/\s+/))
        .filter(([, c]) => c === "workerd")
        .map(([p]) => Number(p));
    } catch {
      return [];
    }
  }

  async stopProcess() {
    this.closeDevtools?.();
    this.closeDevtools = undefined;
    if (this.child) await stopGroup(this.child.pid, 8000);
    this.child = undefined;
  }

  async restart() {
    await this.stopProcess();
    return this.start();
  }

  async stop({ keepState = false } = {}) {
    await this.stopProcess();
    if (!keepState) rmSync(this.persistDir, { recursive: true, force: true });
  }
}

/**
 * A snapshot of the committed tree (git HEAD) plus the bench overlay, in a temp dir with the
 * repository's node_modules and dev secrets. Used with `--source=head` so a benchmark measures a
 * known commit even while the working tree is being edited.
 */
export function makeSnapshot(rev = "HEAD") {
  if (!/^[\w./-]+$/.test(rev)) throw new Error(`not a git revision: ${rev}`);
  ensureDevVars(ROOT);
  const dir = mkdtempSync(path.join(os.tmpdir(), "ghostvault-bench-src-"));
  execSync(`git archive --format=tar ${rev} | tar -x -C ${JSON.stringify(dir)}`, {
    cwd: ROOT,
    stdio: ["ignore", "ignore", "pipe"],
  });
  for (const file of [...BENCH_OVERLAY, ".dev.vars", "dev/kms/.dev.vars"]) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    copyFileSync(path.join(ROOT, file), path.join(dir, file));
  }
  symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
  const commit = execSync(`git rev-parse ${rev}`, { cwd: ROOT, encoding: "utf8" }).trim();
  return { dir, commit, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The commit and the product files that differ from it in the working tree. */
export function treeState() {
  const commit = execSync("git rev-parse HEAD", { cwd: ROOT, encoding: "utf8" }).trim();
  const dirty = execSync("git status --porcelain", { cwd: ROOT, encoding: "utf8" })
    .split("\n")
    .map((l) => l.slice(3))
    .filter((f) => f && !f.startsWith("bench/") && !f.startsWith("test/"));
  return { commit, dirty };
}
