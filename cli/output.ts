/**
 * How the CLI speaks: aligned tables and key/value lists for people, JSON for scripts, and one
 * error line. Colour only when the stream is a terminal and NO_COLOR is not set
 * (https://no-color.org: any non-empty value disables it).
 *
 * Terminal safety: every string a server sends (names, purposes, identities, descriptions, error
 * messages) is attacker-controlled text. Printed raw, an ESC sequence can erase lines, retitle
 * the window or write the clipboard (OSC 52), and a bidi override can make `rm` read as `mr`.
 * So the printers here are the only way the CLI writes to stdout and stderr
 * (test/node/cli/terminal-safety.test.ts greps cli/ for any other), and each one escapes:
 * - human output through {@link terminalSafe}: controls and bidi marks become visible `\x1b` /
 *   `\u202e` text;
 * - JSON through {@link jsonSafe}: the same characters become JSON `\u` escapes, so a parser
 *   reads exactly the value the server sent, while a terminal shows nothing it would act on.
 * The one deliberate exception is {@link printSecret}: a leased value or a new token is printed
 * byte for byte, because `$(ghostvault lease x)` must get it exactly.
 */

import type { EnvVars } from "./config";

/** A stream the CLI writes to (process.stdout or a test double). */
export interface OutStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

/**
 * Characters a terminal may act on: C0 controls (tab and newline included: inside a cell or an
 * error line they would forge rows and lines), DEL, C1 controls (U+009B is a one-character CSI on
 * some terminals), the Arabic letter mark, LRM/RLM, the line and paragraph separators, and the
 * bidi embeddings, overrides and isolates (Unicode TR9: U+202A-202E, U+2066-2069).
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** The visible escape of one unsafe character: `\x1b` for C0/DEL/C1, `\u202e` for the rest. */
function visibleEscape(ch: string): string {
  const code = ch.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
}

/**
 * Text safe to print on a terminal: every control character, ESC (so no escape sequence survives),
 * DEL, C1 control and bidi control is replaced by its visible escape. Ordinary text, any script
 * and emoji included, is unchanged.
 */
export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, visibleEscape);
}

/** Characters JSON.stringify leaves raw that a terminal may act on (it escapes only U+0000-001F). */
const JSON_UNSAFE = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * JSON text with DEL, C1 and bidi controls written as `\uXXXX` escapes. These characters can only
 * occur inside JSON strings, where the escape parses back to the same character: the data is
 * exactly the server's, only its spelling changes.
 */
export function jsonSafe(json: string): string {
  return json.replace(JSON_UNSAFE, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`);
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

/** Options of the formatters. */
export interface FormatOptions {
  paint?: Paint;
  /** Cut cells longer than this to this many characters, the last one `…` (terminals only). */
  maxWidth?: number;
}

/** Widest cell on a terminal before it is cut with `…`; wide enough for every id the API mints. */
export const TTY_CELL_WIDTH = 48;

function cellText(value: Cell, maxWidth = Infinity): string {
  if (value === null || value === undefined || value === "") return "-";
  const text = terminalSafe(String(value));
  return text.length > maxWidth ? `${text.slice(0, maxWidth - 1)}…` : text;
}

/** Renders rows under a header as aligned columns (two spaces apart, last column unpadded); cells escaped. */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly Cell[])[],
  options: FormatOptions = {},
): string {
  const paint = options.paint ?? ((_s, t) => t);
  const texts = rows.map((row) => header.map((_, i) => cellText(row[i], options.maxWidth)));
  const widths = header.map((h, i) => Math.max(h.length, ...texts.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  const head = paint("bold", line(header.map((h) => h.toUpperCase())));
  return [head, ...texts.map(line)].join("\n") + "\n";
}

/** Renders `key  value` lines, keys aligned; values escaped. */
export function formatFields(fields: readonly (readonly [string, Cell])[], options: FormatOptions = {}): string {
  const paint = options.paint ?? ((_s, t) => t);
  const width = Math.max(0, ...fields.map(([k]) => k.length));
  return fields.map(([k, v]) => `${paint("dim", k.padEnd(width))}  ${cellText(v, options.maxWidth)}`).join("\n") + "\n";
}

function ttyOptions(stream: OutStream): FormatOptions {
  return { paint: painter(stream), maxWidth: stream.isTTY === true ? TTY_CELL_WIDTH : undefined };
}

/** Writes `value` as pretty JSON and a newline (see {@link jsonSafe}). */
export function printJson(value: unknown, stream: OutStream = process.stdout): void {
  stream.write(jsonSafe(JSON.stringify(value, null, 2)) + "\n");
}

/** Writes `value` as one line of JSON (JSON Lines, for streams such as `audit tail`). */
export function printJsonLine(value: unknown, stream: OutStream = process.stdout): void {
  stream.write(jsonSafe(JSON.stringify(value)) + "\n");
}

/** Prints a table to stdout, or a note on stderr when there are no rows. */
export function printTable(
  header: readonly string[],
  rows: readonly (readonly Cell[])[],
  empty = "nothing to show",
): void {
  if (rows.length === 0) return note(empty);
  process.stdout.write(formatTable(header, rows, ttyOptions(process.stdout)));
}

/** Prints aligned key/value lines to stdout. */
export function printFields(fields: readonly (readonly [string, Cell])[]): void {
  process.stdout.write(formatFields(fields, ttyOptions(process.stdout)));
}

/** Prints one line of text to stdout, escaped (a blank line when `text` is empty). */
export function printLine(text = ""): void {
  process.stdout.write(terminalSafe(text) + "\n");
}

/**
 * Prints a secret exactly as given, unescaped: a leased value, or a token or signing secret
 * shown once. Without a newline when stdout is a pipe, so `$(...)` and `| tool` get the bytes.
 */
export function printSecret(value: string, newline = process.stdout.isTTY === true): void {
  process.stdout.write(newline ? `${value}\n` : value);
}

/**
 * Asks GitHub Actions to mask `secret` (and each of its lines) in the job log, on stderr so stdout
 * stays for `eval`. Workflow-command escaping per GitHub's toolkit: `%`, CR and LF.
 */
export function printGithubMasks(secret: string): void {
  for (const part of new Set([secret, ...secret.split(/\r?\n/)])) {
    if (part.trim())
      process.stderr.write(`::add-mask::${part.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A")}\n`);
  }
}

/**
 * Prints text the CLI composed entirely itself (a completion script: command names, flags and
 * descriptions), newlines included. Never for anything that holds server data.
 */
export function printOwnText(text: string): void {
  process.stdout.write(text);
}

/**
 * Prints a response body from somewhere else (`ghostvault http`): on a terminal as text made
 * {@link terminalSafe}, so a hostile answer cannot drive the terminal; to a pipe, the bytes exactly.
 */
export function printUpstreamBytes(bytes: Uint8Array, stream: NodeJS.WriteStream = process.stdout): void {
  if (stream.isTTY === true) stream.write(terminalSafe(new TextDecoder().decode(bytes)));
  else stream.write(bytes);
}

/**
 * Writes lines that must reach a file unchanged (an audit export). On a terminal they are made
 * {@link jsonSafe} first: the parsed JSON is the same, but nothing in it can drive the terminal.
 */
export function printExportLine(line: string, stream: OutStream & NodeJS.WritableStream): boolean {
  const text = stream.isTTY === true ? jsonSafe(line) : line;
  return stream.write(text + "\n") as boolean;
}

/** A note for people on stderr (never on stdout, which scripts read); escaped. */
export function note(text: string): void {
  process.stderr.write(`${terminalSafe(text)}\n`);
}

/** A time as people read it: ISO without milliseconds, or "-". */
export function when(iso: string | null | undefined): string {
  return iso ? iso.replace(/\.\d{3}Z$/, "Z") : "-";
}

/** A number of seconds as people say it: the largest unit that divides it, `15m`, `1h`, `1d`, `90s`. */
export function seconds(total: number): string {
  if (!Number.isInteger(total) || total <= 0) return `${total}s`;
  for (const [unit, size] of [
    ["d", 86_400],
    ["h", 3_600],
    ["m", 60],
  ] as const) {
    if (total % size === 0) return `${total / size}${unit}`;
  }
  return `${total}s`;
}

// The error line lives in errors.ts; re-exported for callers outside cli/ (mcp/tool-result.ts).
export { formatError } from "./errors";
