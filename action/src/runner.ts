/**
 * What the Action needs of the GitHub Actions runner, without @actions/core: inputs, workflow
 * commands on stdout (mask, error), file commands (GITHUB_ENV, GITHUB_OUTPUT, GITHUB_STATE) in the
 * multiline-safe `name<<delimiter` form, and the job's OIDC ID token. Facts:
 * /work/shared/reference/github-actions.md (runner and toolkit behaviour).
 */

import { randomUUID } from "node:crypto";
import { appendFileSync } from "node:fs";

/** An input as the runner passes it: `INPUT_<NAME>` upper-cased, spaces to `_`, hyphens kept. */
export function input(name: string, options: { required?: boolean } = {}): string {
  const value = (process.env[`INPUT_${name.replace(/ /g, "_").toUpperCase()}`] ?? "").trim();
  // The runner does not enforce `required: true`; we do.
  if (options.required && value === "") throw new ActionError(`input "${name}" is required`);
  return value;
}

/** A failure of the step with a reason fit for one log line (no value, no token in it). */
export class ActionError extends Error {}

/** Workflow-command data escaping (`%`, CR, LF), so a message or a mask stays one command. */
function escapeData(text: string): string {
  return text.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}

/**
 * Masks a secret in every later log line. The runner matches per log line, so each line of a
 * multi-line value is masked too (vault-action CVE-2021-32074).
 */
export function mask(secret: string): void {
  for (const part of new Set([secret, ...secret.split(/\r?\n/)])) {
    if (part.trim().length > 0) process.stdout.write(`::add-mask::${escapeData(part)}\n`);
  }
}

/** Fails the step: one `::error::` line and exit code 1. */
export function fail(error: unknown): void {
  const message =
    error instanceof ActionError
      ? error.message
      : `unexpected failure: ${error instanceof Error ? error.message : String(error)}`;
  process.stdout.write(`::error::${escapeData(message.split("\n")[0] ?? "")}\n`);
  process.exitCode = 1;
}

/** Appends `name<<delimiter` / value / delimiter to a runner file (GITHUB_ENV, GITHUB_OUTPUT, GITHUB_STATE). */
export function fileCommand(
  variable: "GITHUB_ENV" | "GITHUB_OUTPUT" | "GITHUB_STATE",
  name: string,
  value: string,
): void {
  const file = process.env[variable];
  if (!file) throw new ActionError(`${variable} is not set: run this inside a GitHub Actions job`);
  const delimiter = `ghadelimiter_${randomUUID()}`;
  // A value holding the delimiter could end the entry early and inject others.
  if (name.includes(delimiter) || value.includes(delimiter))
    throw new ActionError(`${name}: value contains the file command delimiter`);
  appendFileSync(file, `${name}<<${delimiter}\n${value}\n${delimiter}\n`, { encoding: "utf8" });
}

/**
 * Requests the job's OIDC ID token for `audience` (needs `permissions: id-token: write`) and
 * masks it. Called right before each use: tokens are single-use at the vault and short-lived.
 */
export async function idToken(audience: string): Promise<string> {
  const url = process.env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const bearer = process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (!url || !bearer) throw new ActionError("no OIDC token available: give the job `permissions: id-token: write`");
  const separator = url.includes("?") ? "&" : "?";
  let response: Response;
  try {
    response = await fetch(`${url}${separator}audience=${encodeURIComponent(audience)}`, {
      headers: { authorization: `Bearer ${bearer}`, accept: "application/json" },
    });
  } catch (error) {
    throw new ActionError(`cannot request the OIDC token: ${causeOf(error)}`);
  }
  if (!response.ok) throw new ActionError(`OIDC token request answered ${response.status}`);
  const body = (await response.json().catch(() => null)) as { value?: unknown } | null;
  if (typeof body?.value !== "string" || body.value === "")
    throw new ActionError("OIDC token request answered without a token");
  mask(body.value);
  return body.value;
}

/** `ECONNREFUSED 127.0.0.1:8787` rather than `fetch failed`. */
export function causeOf(error: unknown): string {
  const cause =
    error instanceof Error
      ? (error.cause as { code?: string; address?: string; port?: number; message?: string } | undefined)
      : undefined;
  if (cause?.code)
    return [cause.code, cause.address && cause.port ? `${cause.address}:${cause.port}` : cause.address]
      .filter(Boolean)
      .join(" ");
  return cause?.message ?? (error instanceof Error ? error.message : String(error));
}
