import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** A running `node dev/start.mjs`, with everything it has printed so far. */
export interface DevServer {
  child: ChildProcess;
  output: () => string;
  /** Persist dir this server was started with: wrangler's command line carries it, so it finds the group. */
  persistDir: string;
  /** Wrangler process groups seen so far, for the cleanup after a failure. */
  groups: Set<number>;
}

/** What the banner tells a developer. */
export interface Banner {
  url: string;
  tenantId: string;
  token: string;
}

/** Every dev server started in this file, so afterAll can stop them whatever failed. */
const started = new Set<DevServer>();

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/** Starts `node dev/start.mjs` against private state: the developer's own dirs are never touched. */
export function startDev(opts: { port: number; persistDir: string; stateDir: string; args?: string[] }): DevServer {
  const child = spawn(process.execPath, ["dev/start.mjs", ...(opts.args ?? [])], {
    cwd: ROOT,
    env: {
      ...process.env,
      WRANGLER_SEND_METRICS: "false",
      GHOSTVAULT_PORT: String(opts.port),
      GHOSTVAULT_PERSIST_DIR: opts.persistDir,
      GHOSTVAULT_STATE_DIR: opts.stateDir,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let text = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
  const server = { child, output: () => text, persistDir: opts.persistDir, groups: new Set<number>() };
  started.add(server);
  return server;
}

/** Waits (bounded) for the banner and parses it; fails with the output if start.mjs dies or stalls. */
export async function waitForBanner(server: DevServer, timeoutMs = 90_000): Promise<Banner> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const text = server.output();
    if (text.includes("Press Ctrl-C to stop")) {
      const field = (label: string) => new RegExp(`${label}:\\s+(\\S+)`).exec(text)?.[1];
      const [url, tenantId, token] = [field("URL"), field("Tenant ID"), field("Admin token")];
      if (!url || !tenantId || !token) throw new Error(`banner incomplete:\n${text}`);
      return { url, tenantId, token };
    }
    if (server.child.exitCode !== null) throw new Error(`start.mjs exited with ${server.child.exitCode}:\n${text}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no banner within ${timeoutMs} ms:\n${server.output()}`);
}

interface Proc {
  pid: number;
  pgid: number;
  args: string;
}

/** Live (non-zombie) processes, from `ps`, which Linux and macOS both have. */
function processes(): Proc[] {
  const out = execFileSync("ps", ["-eo", "pid=,pgid=,stat=,args="], { encoding: "utf8" });
  return out
    .split("\n")
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(\S+)\s+(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null && !m[3]!.startsWith("Z"))
    .map((m) => ({ pid: Number(m[1]), pgid: Number(m[2]), args: m[4]! }));
}

/** Process groups led by this server's wrangler: found by the unique persist dir in its command line. */
export function wranglerGroups(server: DevServer): Set<number> {
  const groups = new Set(
    processes()
      .filter((p) => p.args.includes(server.persistDir))
      .map((p) => p.pgid),
  );
  for (const pgid of groups) server.groups.add(pgid);
  return groups;
}

/** Every live process in any of `groups` (wrangler, its node child, workerd). */
export function groupMembers(groups: Set<number>): Proc[] {
  return processes().filter((p) => groups.has(p.pgid));
}

/** Sends `signal` to start.mjs and waits (bounded) for it to exit; returns its exit code. */
export async function stopDev(server: DevServer, signal: NodeJS.Signals, timeoutMs = 20_000): Promise<number | null> {
  const { child } = server;
  if (child.exitCode === null && child.signalCode === null) {
    const exited = once(child, "exit");
    child.kill(signal);
    await Promise.race([exited, new Promise((r) => setTimeout(r, timeoutMs))]);
  }
  return child.exitCode;
}

/** afterAll safety net: kills every start.mjs of this file and its wrangler groups, by id. */
export async function killAll(): Promise<void> {
  for (const server of started) {
    wranglerGroups(server);
    if (server.child.exitCode === null && server.child.signalCode === null) await stopDev(server, "SIGINT", 10_000);
    server.child.kill("SIGKILL");
    for (const pgid of server.groups) {
      try {
        process.kill(-pgid, "SIGKILL");
      } catch {
        // Already gone: the normal case.
      }
    }
  }
  started.clear();
}
