/**
 * The runner behind `ghostvault run` and the MCP tool `run_with_credentials`: lease credentials,
 * start a command with them as environment variables (no shell), mask every leased value in its
 * output, renew the leases while it runs, and revoke them all when it ends, however it ends.
 *
 * Output always goes through pipes, never straight to the terminal: that is what makes masking
 * possible. The price is that the child sees no TTY on stdout/stderr (no colours or progress
 * bars by default); stdin is passed through as is (the terminal, when there is one).
 */

import { spawn, type ChildProcess } from "node:child_process";
import { constants } from "node:os";
import type { Writable } from "node:stream";
import type { Agent, Duration, Lease, VaultClient } from "../../sdk/node";
import { aboutCredential, formatError } from "../errors";
import { inheritedEnv } from "./child-env";
import { StreamRedactor } from "./redactor";

/** One `VAR=credential` mapping. */
export interface EnvMapping {
  variable: string;
  credential: string;
}

/** What to run, and with which credentials. */
export interface RunRequest {
  vault: VaultClient;
  /** Program and arguments; run without a shell. */
  command: readonly string[];
  env: readonly EnvMapping[];
  /** What the command's environment starts from (default: {@link inheritedEnv} of this process's). */
  baseEnv?: Readonly<Record<string, string>>;
  /**
   * More values to mask in the output, not given to the command: the vault login, which a
   * same-user command can read from its file (masking stops it being printed whole or encoded).
   */
  alsoMask?: readonly string[];
  /** Plain variables for the command (an env file's non-reference lines); leased values win. */
  passEnv?: Readonly<Record<string, string>>;
  ttl?: Duration;
  purpose?: string;
  /** Attribution stored on every lease. */
  agent: Agent;
  /** How to lease (default: `vault.lease`); `ghostvault run` passes one that waits for approvals. */
  lease?: VaultClient["lease"];
  /** "inherit" for a CLI, "ignore" where stdin is taken (the MCP server's stdin is its protocol). */
  stdin: "inherit" | "ignore";
  /** Where the child's masked stdout and stderr go. */
  stdout: Writable;
  stderr: Writable;
  cwd?: string;
  /** Kill the command (SIGTERM, then SIGKILL) after this long. */
  timeoutMs?: number;
  /** Warnings for people (renewal trouble, revocation failures); never a value. */
  onWarning?: (message: string) => void;
}

/** How a run ended. */
export interface RunResult {
  /** The child's exit code, 128 + signal number if a signal ended it, 127 if it could not start. */
  exitCode: number;
  /** The signal that ended the child, if one did. */
  signal: NodeJS.Signals | null;
  /** Ids of the leases taken (all revoked by now unless a warning said otherwise). */
  leaseIds: string[];
  timedOut: boolean;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** How long a signalled child gets before SIGKILL. */
const KILL_GRACE_MS = 10_000;

/** Parses `VAR=credential`. @throws Error on a malformed mapping. */
export function parseEnvMapping(text: string): EnvMapping {
  const eq = text.indexOf("=");
  const variable = text.slice(0, eq);
  const credential = text.slice(eq + 1);
  if (eq <= 0 || !ENV_NAME.test(variable) || credential === "")
    throw new Error(`--env must be VAR=credential (VAR a valid variable name), got: ${text}`);
  return { variable, credential };
}

/** The exit code of a child that ended by `signal`: 128 + its number, as shells report it. */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

/** One run of a command; {@link CommandRun.signal} forwards a signal to it (or cancels it before it starts). */
export class CommandRun {
  readonly #req: RunRequest;
  readonly #leases: Lease[] = [];
  readonly #timers = new Set<NodeJS.Timeout>();
  #child: ChildProcess | undefined;
  #cancelled: NodeJS.Signals | undefined;
  #timedOut = false;
  #finished = false;

  /** Prepares a run; nothing happens before {@link start}. */
  constructor(request: RunRequest) {
    if (request.command.length === 0) throw new Error("no command to run");
    this.#req = request;
  }

  /** Forwards `signal` to the command, with SIGKILL after a grace period; before it starts, cancels the run. */
  signal(signal: NodeJS.Signals): void {
    this.#cancelled ??= signal;
    const child = this.#child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    this.#later(KILL_GRACE_MS, () => child.kill("SIGKILL"));
  }

  /** Leases, runs, revokes. Rejects only when leasing fails (after revoking what was leased). */
  async start(): Promise<RunResult> {
    try {
      const values = await this.#leaseAll();
      if (this.#cancelled !== undefined) return this.#result(signalExitCode(this.#cancelled), this.#cancelled);
      const { code, signal } = await this.#spawn(values);
      return this.#result(code ?? signalExitCode(signal ?? "SIGKILL"), signal);
    } finally {
      this.#finished = true;
      for (const t of this.#timers) clearTimeout(t);
      await this.#revokeAll();
    }
  }

  #result(exitCode: number, signal: NodeJS.Signals | null): RunResult {
    return { exitCode, signal, leaseIds: this.#leases.map((l) => l.id), timedOut: this.#timedOut };
  }

  #later(ms: number, fn: () => void): void {
    if (this.#finished) return;
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    this.#timers.add(t);
  }

  /** One lease per distinct credential, in order; the values by variable. */
  async #leaseAll(): Promise<Map<string, string>> {
    const byCredential = new Map<string, Lease>();
    const values = new Map<string, string>();
    for (const { variable, credential } of this.#req.env) {
      if (this.#cancelled !== undefined) break;
      let lease = byCredential.get(credential);
      if (lease === undefined) {
        const take = this.#req.lease ?? ((...args: Parameters<VaultClient["lease"]>) => this.#req.vault.lease(...args));
        lease = await take(credential, {
          ttl: this.#req.ttl,
          purpose: this.#req.purpose,
          agent: this.#req.agent,
        }).catch(aboutCredential(credential, { clamp: false }));
        this.#leases.push(lease);
        byCredential.set(credential, lease);
        this.#scheduleRenewal(lease);
      }
      values.set(variable, lease.value);
    }
    return values;
  }

  /**
   * Renews at half the lease's term, measured as the server granted it (expires - issued), so a
   * skewed local clock does not matter; stops once the maximum lifetime is reached.
   */
  #scheduleRenewal(lease: Lease): void {
    const term = Date.parse(lease.metadata.expires_at) - Date.parse(lease.metadata.issued_at);
    const every = Math.max(500, Math.floor(term / 2));
    const tick = async () => {
      if (!lease.active || this.#finished) return;
      try {
        const info = await lease.renew();
        if (info.expires_at >= info.max_expires_at) {
          this.#req.onWarning?.(
            `lease ${lease.id} (${info.credential_name}) reached its maximum lifetime: it expires at ${info.expires_at}`,
          );
          return;
        }
      } catch (error) {
        this.#req.onWarning?.(`could not renew lease ${lease.id}: ${formatError(error).replace(/^error: /, "")}`);
        if (!lease.active) return;
      }
      this.#later(every, () => void tick());
    };
    this.#later(every, () => void tick());
  }

  #spawn(values: Map<string, string>): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    // The child gets leased values, not the vault login that could lease more.
    const env: Record<string, string | undefined> = {
      ...(this.#req.baseEnv ?? inheritedEnv(process.env)),
      ...this.#req.passEnv,
      ...Object.fromEntries(values),
    };
    delete env.GHOSTVAULT_TOKEN;
    const [file, ...args] = this.#req.command as [string, ...string[]];
    const child = spawn(file, args, {
      cwd: this.#req.cwd,
      env: env as NodeJS.ProcessEnv,
      shell: false,
      stdio: [this.#req.stdin, "pipe", "pipe"],
    });
    this.#child = child;
    const secrets = [...values.values(), ...(this.#req.alsoMask ?? [])];
    pipeRedacted(child.stdout!, this.#req.stdout, new StreamRedactor(secrets));
    pipeRedacted(child.stderr!, this.#req.stderr, new StreamRedactor(secrets));
    if (this.#req.timeoutMs !== undefined) {
      this.#later(this.#req.timeoutMs, () => {
        this.#timedOut = true;
        this.signal("SIGTERM");
      });
    }
    if (this.#cancelled !== undefined) this.signal(this.#cancelled);
    return new Promise((resolve) => {
      let spawnError: Error | undefined;
      child.once("error", (error) => {
        spawnError = error;
        this.#req.onWarning?.(`cannot run ${file}: ${error.message}`);
      });
      // "close" comes after the process has exited AND its stdio has ended: all output is through.
      // A failed spawn closes with a negative errno as its code: report it as shells do (127, 126).
      child.once("close", (code, signal) => {
        if (spawnError === undefined) return resolve({ code, signal });
        resolve({ code: (spawnError as NodeJS.ErrnoException).code === "EACCES" ? 126 : 127, signal: null });
      });
    });
  }

  async #revokeAll(): Promise<void> {
    await Promise.all(
      this.#leases.map(async (lease) => {
        try {
          await lease.revoke();
        } catch (error) {
          this.#req.onWarning?.(
            `could not revoke lease ${lease.id}: ${formatError(error).replace(/^error: /, "")}; it ends at ${lease.metadata.expires_at}`,
          );
        }
      }),
    );
  }
}

/** Copies `from` to `to` through `redactor`, honouring backpressure. */
function pipeRedacted(from: NodeJS.ReadableStream, to: Writable, redactor: StreamRedactor): void {
  from.on("data", (chunk: Buffer) => {
    const out = redactor.push(chunk);
    if (out.length > 0 && !to.write(out)) {
      from.pause();
      to.once("drain", () => from.resume());
    }
  });
  from.once("end", () => {
    const rest = redactor.flush();
    if (rest.length > 0) to.write(rest);
  });
}
