import { spawn } from "node:child_process";
import { execFileSync } from "node:child_process";

/** One live process as `ps` shows it. */
export interface ProcessInfo {
  pid: number;
  ppid: number;
  pgid: number;
  args: string;
}

/** Live (non-zombie) processes, from `ps`, which Linux and macOS both have. */
export function processes(): ProcessInfo[] {
  const out = execFileSync("ps", ["-eo", "pid=,ppid=,pgid=,stat=,args="], { encoding: "utf8" });
  return out
    .split("\n")
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\S+)\s+(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null && !m[4]!.startsWith("Z"))
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), pgid: Number(m[3]), args: m[5]! }));
}

/** Every live descendant of `root` (children, grandchildren, ...), e.g. the workerd a test started. */
export function descendants(root: number = process.pid): ProcessInfo[] {
  const all = processes();
  const found: ProcessInfo[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const p of all) {
      if (p.ppid === parent) {
        found.push(p);
        queue.push(p.pid);
      }
    }
  }
  return found;
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // The group is already gone.
  }
}

/** SIGTERM to the group led by `pgid`, up to `graceMs` to exit, then SIGKILL for what is left. */
export async function stopGroup(pgid: number, graceMs = 5000): Promise<void> {
  if (!groupAlive(pgid)) return;
  signalGroup(pgid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (groupAlive(pgid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (groupAlive(pgid)) signalGroup(pgid, "SIGKILL");
}

/**
 * Runs a command to completion as the leader of its own process group (so a workerd grandchild
 * cannot outlive it), stdin closed, output collected. Kills the group after `timeoutMs`.
 * @throws Error with the command's output if it exits non-zero or times out.
 */
export async function runInGroup(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<string> {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (c: string) => (output += c));
  child.stderr.setEncoding("utf8").on("data", (c: string) => (output += c));
  const pgid = child.pid;
  const timer = setTimeout(() => pgid !== undefined && signalGroup(pgid, "SIGKILL"), options.timeoutMs);
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once("error", reject);
      child.once("exit", (c) => resolve(c));
    });
    if (code !== 0)
      throw new Error(`${args.slice(0, 4).join(" ")} exited with ${code ?? "a signal"}:\n${output.slice(-4000)}`);
    return output;
  } finally {
    clearTimeout(timer);
    if (pgid !== undefined) await stopGroup(pgid, 2000);
  }
}
