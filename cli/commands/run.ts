import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import path from "node:path";
import type { Command } from "commander";
import { resolveLogin } from "../config";
import { action, CliError, collect, duration, positiveInt, vaultClient } from "../context";
import { note } from "../output";
import { parseEnvFile, readEnvFile, REFERENCE_PREFIX, type EnvFile } from "../run/env-file";
import { CommandRun, parseEnvMapping, type EnvMapping } from "../run/runner";
import { leaseWaiting, withWaitOptions, type WaitFlags } from "./requests";

interface RunOptions extends WaitFlags {
  env?: string[];
  envFile?: string;
  ttl?: string;
  purpose?: string;
  timeout?: number;
}

const FORWARDED: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];

/** Resolves once everything written to `stream` so far has been handed to the OS. */
function drained(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => stream.write("", () => resolve()));
}

/** `run --env VAR=credential ... -- command`: the command gets the values, its output gets them masked. */
export function registerRun(program: Command): void {
  withWaitOptions(program.command("run"))
    .description(
      "lease credentials, run a command with them as environment variables (no shell), mask their values in its output, renew while it runs, revoke when it ends",
    )
    .argument("<command...>", "the command and its arguments (put them after --)")
    .option("-e, --env <VAR=credential>", "put a credential's value in $VAR (repeatable)", collect)
    .option(
      "--env-file <file>",
      "a .env file: VAR=gv://credential lines are leased, other VAR=value lines passed on as they are",
    )
    .option("--ttl <duration>", "lease TTL, renewed while the command runs (default: each credential's)")
    .option("--purpose <text>", "why, for the audit log")
    .option("--timeout <seconds>", "kill the command after this long", positiveInt)
    .option("--json", "report ghostvault's own errors as JSON on stdout (the command's output is passed on unchanged)")
    .passThroughOptions()
    .addHelpText(
      "after",
      `
Example:
  ghostvault run --env OPENAI_API_KEY=openai --env DB_URL=prod/db-url --ttl 15m -- node eval.js
  ghostvault run --env-file .env -- npm start    # .env: OPENAI_API_KEY=gv://openai, PORT=3000

The command's stdout and stderr always go through a pipe so that every leased value can be
replaced by ***** (also when a value is split across writes, and for values of 8+ bytes also
their base64, base64url, hex and URL-encodings); the command therefore does not see a terminal
on stdout/stderr. stdin is passed through. GHOSTVAULT_TOKEN is removed from its environment.
Masking is not a boundary: a command that reads its environment can print a value sliced, and
it runs as you, so it can read your login file. Run only commands you trust with the values. SIGINT, SIGTERM and SIGHUP are forwarded to it; every lease is revoked when it
exits, and ghostvault exits with its code (128 + signal number if a signal ended it).`,
    )
    .action(
      action(async (command: string[], options: RunOptions) => {
        let env: EnvMapping[];
        let file: EnvFile = { leased: [], plain: {} };
        try {
          if (options.envFile !== undefined) file = parseEnvFile(await readEnvFile(options.envFile), options.envFile);
          // --env after the file's references: a variable given on both is --env's.
          env = [...file.leased, ...(options.env ?? []).map(parseEnvMapping)];
        } catch (error) {
          throw new CliError((error as Error).message, 2);
        }
        if (env.length === 0)
          throw new CliError(
            `give at least one --env VAR=credential, or an --env-file with VAR=${REFERENCE_PREFIX}credential lines`,
            2,
          );
        const vault = await vaultClient();
        const run = new CommandRun({
          vault,
          lease: leaseWaiting(vault, options),
          // A same-user command can read the login file: at least its output does not show the token.
          alsoMask: [(await resolveLogin()).token],
          command,
          env,
          passEnv: file.plain,
          ttl: options.ttl === undefined ? undefined : duration(options.ttl),
          purpose: options.purpose,
          agent: {
            name: "ghostvault-run",
            session: randomUUID(),
            tool: path.basename(command[0]!).slice(0, 128),
            host: hostname().slice(0, 256),
          },
          stdin: "inherit",
          stdout: process.stdout,
          stderr: process.stderr,
          timeoutMs: options.timeout === undefined ? undefined : options.timeout * 1000,
          onWarning: (message) => note(`ghostvault: ${message}`),
        });
        const forward = (signal: NodeJS.Signals) => run.signal(signal);
        for (const s of FORWARDED) process.on(s, forward);
        try {
          const result = await run.start();
          if (result.timedOut) note(`ghostvault: the command ran longer than ${options.timeout}s and was stopped`);
          await Promise.all([drained(process.stdout), drained(process.stderr)]);
          // Exit now: an idle keep-alive socket must not delay the exit code.
          process.exit(result.exitCode);
        } finally {
          for (const s of FORWARDED) process.off(s, forward);
        }
      }),
    );
}
