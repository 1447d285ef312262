/**
 * What every command shares: the client for the current login, the `--json` flag, and the one
 * place where a failure becomes an error line and an exit code.
 */

import { Command, InvalidArgumentError, Option } from "commander";
import { VaultClient, vaultClientWithPins, type Duration } from "../sdk/node";
import { resolveLogin, type EnvVars } from "./config";
import { CliError, reportError } from "./errors";

export { CliError } from "./errors";

/** Options every leaf command has. */
export interface JsonOption {
  json?: boolean;
}

/**
 * A client for the current login (env over config file). `GHOSTVAULT_PINS` (comma-separated
 * base64 SPKI SHA-256 pins) switches to the pinned fetch of sdk/node.ts.
 */
export async function vaultClient(env: EnvVars = process.env): Promise<VaultClient> {
  const login = await resolveLogin(env);
  const pins = (env.GHOSTVAULT_PINS ?? "")
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean);
  const retry = { maxRetries: 2 };
  if (pins.length > 0) return vaultClientWithPins({ url: login.url, token: login.token, pins, retry });
  return new VaultClient({ url: login.url, token: login.token, retry });
}

/** Adds `--json` to a command. */
export function withJson(command: Command): Command {
  return command.option("--json", "print JSON for scripts instead of a table");
}

/**
 * Wraps a command action: any failure is printed as one `error: ...` line on stderr, or as
 * `{"error":{...}}` on stdout when the command has `--json`, and the process exits non-zero (1,
 * or a {@link CliError}'s code). Never prints a stack or a value.
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (error) {
      // Commander passes the command itself last; its options tell whether --json was given.
      const command = args[args.length - 1];
      reportError(error, command instanceof Command && command.opts().json === true);
    }
  };
}

/**
 * A hidden `--value` option, so that passing a secret as an argument is refused with an
 * explanation instead of commander's generic "unknown option".
 */
export function refuseValueOption(command: Command): Command {
  return command.addOption(new Option("--value <value>", "refused: values never come from arguments").hideHelp());
}

/** Throws the refusal if `--value` was given (without echoing what was given). */
export function assertNoValueOption(options: { value?: string }): void {
  if (options.value !== undefined) {
    throw new CliError(
      "values are never taken from arguments (they land in shell history and `ps`): pipe the value on stdin or type it at the prompt",
      2,
    );
  }
}

/**
 * Parses a positive integer option (an argParser: commander reports the InvalidArgumentError as a
 * usage error naming the option, exit 2).
 */
export function positiveInt(value: string): number {
  const n = /^\d{1,15}$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError("expected a positive whole number, e.g. 5");
  return n;
}

/** Parses a whole-number option that may be 0 (a tree size, an offset). */
export function nonNegativeInt(value: string): number {
  return value === "0" ? 0 : positiveInt(value);
}

/** Parses a duration option: whole seconds or "90s", "10m", "1h", "7d". */
export function duration(value: string): Duration {
  if (/^\d{1,9}$/.test(value) && Number(value) > 0) return Number(value);
  if (/^\d{1,7}[smhd]$/.test(value)) return value as Duration;
  throw new CliError(`not a duration: ${value} (use seconds or 90s, 10m, 1h, 7d)`, 2);
}

/** Collects a repeatable option into an array. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
