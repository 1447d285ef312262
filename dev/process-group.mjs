// A child process in its own process group, and the means to stop the whole group.
//
// `wrangler dev` starts workerd as a grandchild. Killing only wrangler's pid leaves workerd
// holding the port, and Ctrl-C in a terminal reaches a detached child only if we pass it on.
// So the child leads a new group (`detached: true` makes it call setsid) and we signal `-pid`.

import { spawn } from "node:child_process";

/**
 * Spawns `command` as the leader of a new process group, its stdin closed (so wrangler never
 * waits for a prompt) and stdout/stderr piped.
 * @param {string} command
 * @param {string[]} args
 * @param {import("node:child_process").SpawnOptions} options
 */
export function spawnGroup(command, args, options) {
  return spawn(command, args, { ...options, detached: true, stdio: ["ignore", "pipe", "pipe"] });
}

/** True while any process of the group led by `pid` is alive (signal 0 only checks). */
export function groupAlive(pid) {
  try {
    process.kill(-pid, 0);
    return true;
  } catch (error) {
    // EPERM means it exists but is not ours to signal; treat it as alive.
    return error.code === "EPERM";
  }
}

function signalGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

/**
 * Sends SIGTERM to the group, waits up to `graceMs` for every member to exit, then SIGKILLs
 * whatever is left. Waiting on the group, not on the leader, catches workerd outliving wrangler.
 * @param {number | undefined} pid
 * @param {number} graceMs
 */
export async function stopGroup(pid, graceMs = 5000) {
  if (pid === undefined || !groupAlive(pid)) return;
  signalGroup(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (groupAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (groupAlive(pid)) signalGroup(pid, "SIGKILL");
}

/** Last-resort synchronous cleanup for `process.on("exit")`, where nothing asynchronous runs. */
export function killGroupNow(pid) {
  if (pid !== undefined) signalGroup(pid, "SIGKILL");
}
