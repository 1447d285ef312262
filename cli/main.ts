/**
 * Entry of the `ghostvault` CLI, bundled by cli/build.mjs into dist/ghostvault.mjs (the
 * package's `bin`).
 */

import { buildProgram } from "./program";

await buildProgram().parseAsync(process.argv);
