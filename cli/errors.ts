/**
 * How a failure is told: one line for people on stderr (`error: ...`), or `{"error":{...}}` on
 * stdout under `--json`, with the same exit code either way (2 for usage errors, else 1). The
 * message names what failed (the credential, the host and cause of a network failure) and every
 * server-supplied part is escaped (output.ts) before it reaches a terminal.
 */

import { VaultError } from "../sdk/index";
import { jsonSafe, terminalSafe } from "./output";

/** An error whose exit code is not 1 (usage errors: 2). */
export class CliError extends Error {
  override readonly name = "CliError";
  /** Process exit code to use. */
  readonly exitCode: number;
  /** Machine-readable code for `--json`: `usage` for a bad command line, else `cli_error`. */
  readonly code: string;

  /** A failure with a message for people and an exit code. */
  constructor(message: string, exitCode = 1, code = exitCode === 2 ? "usage" : "cli_error") {
    super(message);
    this.exitCode = exitCode;
    this.code = code;
  }
}

/** A transport error's cause as undici reports it (`fetch failed` wrapping a system error). */
interface SystemCause {
  code?: unknown;
  address?: unknown;
  port?: unknown;
  hostname?: unknown;
  errors?: unknown;
  cause?: unknown;
}

/**
 * `ECONNREFUSED 127.0.0.1:8792` from a fetch failure's cause chain (undici: TypeError "fetch
 * failed" → Error with `code`, `address`, `port`; for a name with two addresses an
 * AggregateError whose `errors` carry them), or undefined when there is no system error.
 */
export function networkCause(error: unknown): string | undefined {
  for (
    let e = error as SystemCause | undefined, depth = 0;
    e !== undefined && e !== null && depth < 5;
    e = e.cause as SystemCause | undefined, depth++
  ) {
    if (typeof e.code !== "string") continue;
    const first = Array.isArray(e.errors) ? (e.errors[0] as SystemCause | undefined) : undefined;
    const address = e.address ?? first?.address ?? e.hostname;
    const port = e.port ?? first?.port;
    const where =
      typeof address === "string"
        ? ` ${address.includes(":") ? `[${address}]` : address}${port === undefined ? "" : `:${String(port)}`}`
        : "";
    return `${e.code}${where}`;
  }
  return undefined;
}

/** The message of `error` without the `error: ` prefix or the code suffix. */
export function errorMessage(error: unknown): string {
  if (error instanceof VaultError && error.code === "network_error") {
    const cause = networkCause(error.cause);
    // The SDK's message is "<METHOD> <path>: fetch failed"; the cause says which host and why.
    if (cause !== undefined) return error.message.replace(/: fetch failed$/, "") + `: cannot reach the vault: ${cause}`;
    // No system error (fetch refused the URL itself, e.g. "bad port"): its own words.
    const inner = (error.cause as { cause?: unknown } | undefined)?.cause;
    if (inner instanceof Error) return `${error.message}: ${inner.message}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** The code `--json` reports for `error`. */
export function errorCode(error: unknown): string {
  if (error instanceof VaultError || error instanceof CliError) return error.code;
  return "error";
}

/**
 * The one error line: `error: <message> (code, request <id>)`, escaped for the terminal. The
 * message of a VaultError is the server's, which never carries a secret value.
 */
export function formatError(error: unknown): string {
  if (error instanceof VaultError) {
    const where = [error.code, error.requestId === undefined ? undefined : `request ${error.requestId}`]
      .filter(Boolean)
      .join(", ");
    return terminalSafe(`error: ${errorMessage(error)} (${where})`);
  }
  return terminalSafe(`error: ${errorMessage(error)}`);
}

/** The `--json` form of a failure: `{"error":{"code","message","request_id"?}}`. */
export function jsonError(error: unknown): string {
  const body: { code: string; message: string; request_id?: string } = {
    code: errorCode(error),
    message: errorMessage(error),
  };
  if (error instanceof VaultError && error.requestId !== undefined) body.request_id = error.requestId;
  return jsonSafe(JSON.stringify({ error: body }));
}

/** The exit code for `error`: a {@link CliError}'s own, else 1. */
export function exitCodeOf(error: unknown): number {
  return error instanceof CliError ? error.exitCode : 1;
}

/** Reports `error` (JSON on stdout, or one line on stderr) and sets the exit code. */
export function reportError(error: unknown, json: boolean): void {
  if (json) process.stdout.write(jsonError(error) + "\n");
  else process.stderr.write(formatError(error) + "\n");
  process.exitCode = exitCodeOf(error);
}

/**
 * Whether `--json` is on the command line before any `--` (after it, arguments belong to the
 * command `run` starts). Used for errors commander reports before any action runs.
 */
export function jsonRequested(argv: readonly string[]): boolean {
  const end = argv.indexOf("--");
  return (end === -1 ? argv : argv.slice(0, end)).includes("--json");
}

/**
 * Commander's own error text (unknown option, bad option value, missing argument) as one line:
 * its "(Did you mean ...?)" suggestion folded in, and a pointer to --help.
 */
export function usageLine(text: string): string {
  const message = text
    .trim()
    .replace(/^error:\s*/, "")
    .replace(/\s*\n\s*/g, " ");
  return `${message} (add --help for usage)`;
}

/**
 * Prints a usage error commander found (its `outputError` hook): one line through `writeErr`,
 * or `{"error":{"code":"usage",...}}` on stdout under --json.
 */
export function reportUsageError(text: string, json: boolean, writeErr: (line: string) => void): void {
  const error = new CliError(usageLine(text), 2);
  if (json) process.stdout.write(jsonError(error) + "\n");
  else writeErr(formatError(error) + "\n");
}

/**
 * For `.catch` on a call about the credential `name`: a `not_found` becomes `no such credential
 * "name"` (the server's message does not say which, and `run` leases several), and a TTL over the
 * credential's cap points at the CLI's flag instead of the API's `clamp: true`. Anything else is
 * rethrown unchanged.
 */
export function aboutCredential(name: string, hint: { clamp: boolean } = { clamp: true }): (error: unknown) => never {
  return (error) => {
    if (!(error instanceof VaultError)) throw error;
    const options = { status: error.status, requestId: error.requestId, cause: error };
    if (error.code === "not_found") throw new VaultError("not_found", `no such credential "${name}"`, options);
    if (error.code === "validation_failed" && error.message.endsWith("send clamp: true")) {
      const fix = hint.clamp ? "add --clamp to take the maximum" : "ask for a shorter --ttl";
      throw new VaultError("validation_failed", `${name}: ${error.message.replace(/send clamp: true$/, fix)}`, options);
    }
    throw error;
  };
}
