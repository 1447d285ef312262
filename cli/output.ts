/**
 * How the CLI speaks: aligned tables and key/value lists for people, JSON for scripts, and one
 * error line on stderr. Colour only when the stream is a terminal and NO_COLOR is not set
 * (https://no-color.org: any non-empty value disables it).
 */

import { VaultError } from "../sdk/index";
import type { EnvVars } from "./config";

/** A stream the CLI writes to (process.stdout or a test double). */
export interface OutStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

/** Whether to colour what goes to `stream`. */
export function useColour(stream: OutStream, env: EnvVars = process.env): boolean {
  return stream.isTTY === true && !env.NO_COLOR;
}

const SGR = { bold: "1", dim: "2", red: "31", green: "32", yellow: "33", cyan: "36" } as const;

/** A styling function that does nothing when colour is off. */
export type Paint = (style: keyof typeof SGR, text: string) => string;

/** The painter for `stream`. */
export function painter(stream: OutStream): Paint {
  const on = useColour(stream);
  return (style, text) => (on ? `\u001b[${SGR[style]}m${text}\u001b[0m` : text);
}

/** A cell of a table: anything printable; null and undefined show as "-". */
export type Cell = string | number | boolean | null | undefined;

function cellText(value: Cell): string {
  if (value === null || value === undefined || value === "") return "-";
  return String(value);
}

/** Renders rows under a header as aligned columns (two spaces apart, last column unpadded). */
export function formatTable(header: readonly string[], rows: readonly (readonly Cell[])[], paint: Paint = (_s, t) => t): string {
  const texts = rows.map((row) => header.map((_, i) => cellText(row[i])));
  const widths = header.map((h, i) => Math.max(h.length, ...texts.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  const head = paint("bold", line(header.map((h) => h.toUpperCase())));
  return [head, ...texts.map(line)].join("\n") + "\n";
}

/** Renders `key  value` lines, keys aligned. */
export function formatFields(fields: readonly (readonly [string, Cell])[], paint: Paint = (_s, t) => t): string {
  const width = Math.max(0, ...fields.map(([k]) => k.length));
  return fields.map(([k, v]) => `${paint("dim", k.padEnd(width))}  ${cellText(v)}`).join("\n") + "\n";
}

/** Writes `value` as pretty JSON and a newline. */
export function printJson(value: unknown, stream: OutStream = process.stdout): void {
  stream.write(JSON.stringify(value, null, 2) + "\n");
}

/** Prints a table to stdout, or a note on stderr when there are no rows. */
export function printTable(header: readonly string[], rows: readonly (readonly Cell[])[], empty = "nothing to show"): void {
  if (rows.length === 0) {
    process.stderr.write(`${empty}\n`);
    return;
  }
  process.stdout.write(formatTable(header, rows, painter(process.stdout)));
}

/** Prints aligned key/value lines to stdout. */
export function printFields(fields: readonly (readonly [string, Cell])[]): void {
  process.stdout.write(formatFields(fields, painter(process.stdout)));
}

/** A note for people on stderr (never on stdout, which scripts read). */
export function note(text: string): void {
  process.stderr.write(`${text}\n`);
}

/**
 * The one error line: `error: <message> (code, request <id>)`. The message of a VaultError is the
 * server's, which never carries a secret value.
 */
export function formatError(error: unknown): string {
  if (error instanceof VaultError) {
    const where = [error.code, error.requestId === undefined ? undefined : `request ${error.requestId}`].filter(Boolean).join(", ");
    return `error: ${error.message} (${where})`;
  }
  const message = error instanceof Error ? error.message : String(error);
  return `error: ${message}`;
}

/** A time as people read it: ISO without milliseconds, or "-". */
export function when(iso: string | null | undefined): string {
  return iso ? iso.replace(/\.\d{3}Z$/, "Z") : "-";
}
