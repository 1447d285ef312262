/**
 * `run --env-file FILE`: a dotenv-style file whose `VAR=gv://credential` lines are leased and
 * whose other `VAR=value` lines are passed to the command as they are, so one `.env` can be
 * committed with references instead of values.
 *
 * Format (the common subset of dotenv): `VAR=value` per line, an optional `export ` prefix, blank
 * lines and `#` comment lines ignored, a value in matching single or double quotes taken without
 * them (no escape processing, no interpolation). Anything else is refused with its line number,
 * never echoed: a malformed line may hold a value.
 */

import { readFile } from "node:fs/promises";
import type { EnvMapping } from "./runner";

/** Where a reference points: `gv://` followed by a credential name or id. */
export const REFERENCE_PREFIX = "gv://";

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** What an env file asks for. */
export interface EnvFile {
  /** `VAR=gv://credential` lines, in file order. */
  leased: EnvMapping[];
  /** Every other variable, passed through unchanged. */
  plain: Record<string, string>;
}

function unquote(value: string): string {
  const q = value[0];
  return value.length >= 2 && (q === '"' || q === "'") && value.endsWith(q) ? value.slice(1, -1) : value;
}

/** An env file's text. @throws Error naming the file and why it cannot be read (ENOENT, EACCES). */
export async function readEnvFile(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    throw new Error(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

/**
 * Parses an env file's text; `file` names it in errors.
 * @throws Error `FILE:LINE: ...` for a line that is not `VAR=value` or a reference without a name.
 */
export function parseEnvFile(text: string, file: string): EnvFile {
  const leased: EnvMapping[] = [];
  const plain: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim().replace(/^export\s+/, "");
    if (line === "" || line.startsWith("#")) return;
    const eq = line.indexOf("=");
    const variable = line.slice(0, eq).trim();
    if (eq <= 0 || !ENV_NAME.test(variable))
      throw new Error(`${file}:${index + 1}: expected VAR=value or VAR=${REFERENCE_PREFIX}credential`);
    const value = unquote(line.slice(eq + 1).trim());
    // A later line for the same variable replaces the earlier one, as in a shell.
    const earlier = leased.findIndex((l) => l.variable === variable);
    if (earlier !== -1) leased.splice(earlier, 1);
    delete plain[variable];
    if (!value.startsWith(REFERENCE_PREFIX)) {
      plain[variable] = value;
      return;
    }
    const credential = value.slice(REFERENCE_PREFIX.length);
    if (credential === "") throw new Error(`${file}:${index + 1}: ${variable}=${REFERENCE_PREFIX} names no credential`);
    leased.push({ variable, credential });
  });
  return { leased, plain };
}
