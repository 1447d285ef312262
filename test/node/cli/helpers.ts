/**
 * Test helpers for the CLI and the MCP server: a fresh bundle of the CLI per test file (so tests
 * run the current source, and two files never write the same output), and a runner that spawns
 * it with an isolated config dir and bounded time.
 */

import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { writeConfig } from "../../../cli/config";
import { ROOT } from "../support/vault";

/** Environment variables (NodeJS.ProcessEnv carries the Worker's required bindings in this project). */
export type Env = Record<string, string | undefined>;

/** `env` typed for child_process, whose env type carries those bindings too. */
export function asProcessEnv(env: Env): NodeJS.ProcessEnv {
  return env as NodeJS.ProcessEnv;
}

/** A bundled CLI and the temp dirs of one test file. */
export interface CliFixture {
  /** Path of the bundled `ghostvault` (an ES module run with node). */
  bin: string;
  /** A private HOME/XDG_CONFIG_HOME, so no test touches the developer's login. */
  home: string;
  /** Removes the bundle and the temp dirs. */
  cleanup(): Promise<void>;
}

/**
 * Bundles cli/main.ts with cli/build.mjs into a fresh directory under dist/ (inside the
 * repository, so the external packages resolve from its node_modules).
 */
export async function buildCli(): Promise<CliFixture> {
  // dist/ is git-ignored: a fresh clone has none until something builds into it.
  await mkdir(path.join(ROOT, "dist"), { recursive: true });
  const out = await mkdtemp(path.join(ROOT, "dist", "test-"));
  const bin = path.join(out, "ghostvault.mjs");
  execFileSync(process.execPath, [path.join(ROOT, "cli", "build.mjs"), out], {
    cwd: ROOT,
    stdio: "pipe",
    timeout: 60_000,
  });
  const home = await mkdtemp(path.join(tmpdir(), "ghostvault-cli-home-"));
  return {
    bin,
    home,
    cleanup: async () => {
      await rm(out, { recursive: true, force: true });
      await rm(home, { recursive: true, force: true });
    },
  };
}

/** An environment for the CLI: nothing of the developer's login, no colour, no telemetry. */
export function cliEnv(fixture: CliFixture, extra: Env = {}): Record<string, string> {
  const env: Env = {
    PATH: process.env.PATH,
    HOME: fixture.home,
    XDG_CONFIG_HOME: path.join(fixture.home, ".config"),
    NO_COLOR: "1",
    WRANGLER_SEND_METRICS: "false",
    ...extra,
  };
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

/** What a finished CLI run printed and how it ended. */
export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Options of {@link runCli}. */
export interface RunCliOptions {
  env: Env;
  /** Written to stdin, which is then closed. Default: stdin closed at once. */
  input?: string;
  /** Killed (SIGKILL) after this long. Default 30 s. */
  timeoutMs?: number;
  cwd?: string;
}

/** Spawns the CLI with its stdin, stdout and stderr as pipes. */
export function spawnCli(
  fixture: CliFixture,
  args: readonly string[],
  options: Omit<RunCliOptions, "input" | "timeoutMs">,
): ChildProcess {
  return spawn(process.execPath, [fixture.bin, ...args], {
    cwd: options.cwd ?? ROOT,
    env: asProcessEnv(options.env),
    stdio: ["pipe", "pipe", "pipe"],
  });
}

/** Collects a child's output until it exits (or kills it at the deadline). */
export function collect(child: ChildProcess, timeoutMs = 30_000): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (c: string) => (stdout += c));
  child.stderr!.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Runs the CLI to completion. */
export function runCli(fixture: CliFixture, args: readonly string[], options: RunCliOptions): Promise<CliResult> {
  const child = spawnCli(fixture, args, options);
  const done = collect(child, options.timeoutMs);
  child.stdin!.end(options.input ?? "");
  return done;
}

/** Resolves when `child` has printed `text` on stdout (rejects after `timeoutMs`). */
export function waitForOutput(child: ChildProcess, text: string, timeoutMs = 20_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(
      () => reject(new Error(`timed out waiting for ${JSON.stringify(text)}; saw ${JSON.stringify(seen)}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer | string) => {
      seen += chunk.toString();
      if (seen.includes(text)) {
        clearTimeout(timer);
        child.stdout!.off("data", onData);
        resolve();
      }
    };
    child.stdout!.on("data", onData);
  });
}

/**
 * The environment of an MCP server (`ghostvault mcp`): its login is a profile file (one per
 * token), never GHOSTVAULT_TOKEN, which the server refuses because its children could read it
 * from /proc/PID/environ.
 */
export async function mcpServerEnv(fixture: CliFixture, url: string, token: string): Promise<Record<string, string>> {
  const profile = `t${createHash("sha256").update(token).digest("hex").slice(0, 16)}`;
  const env = cliEnv(fixture, { GHOSTVAULT_PROFILE: profile });
  await writeConfig({ url, token }, env);
  return env;
}
