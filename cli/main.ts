/**
 * Entry of the `ghostvault` CLI, bundled by cli/build.mjs into dist/ghostvault.mjs (the
 * package's `bin`).
 */

import { CommanderError } from "commander";
import { jsonRequested, reportError } from "./errors";
import { buildProgram } from "./program";

try {
  await buildProgram(process.argv).parseAsync(process.argv);
} catch (error) {
  // Commander has already printed its one line (program.ts); --help and --version exit 0, and
  // every other CommanderError is a usage error: exit 2 (the convention of getopt tools).
  if (error instanceof CommanderError) process.exitCode = error.exitCode === 0 ? 0 : 2;
  // Actions report their own failures (context.ts); anything else still gets one line, no stack.
  else reportError(error, jsonRequested(process.argv));
}
