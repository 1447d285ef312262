#!/usr/bin/env node
// Builds the SDK package into sdk/dist/: compiled ESM (esbuild; `index.js` the core, `node.js` the
// Node-only pinning entry, shared code in chunks) and declarations (tsc, sdk/tsconfig.build.json).
// The declarations mirror the source tree (dist/types/sdk/…, and the wire schemas they are inferred
// from under dist/types/worker/…); tsc keeps import specifiers as written (extensionless), which
// `moduleResolution: NodeNext` consumers cannot resolve, so each relative one gets its `.js` here.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildSync } from "esbuild";

const sdk = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(sdk, "dist");
rmSync(dist, { recursive: true, force: true });

buildSync({
  entryPoints: { index: path.join(sdk, "index.ts"), node: path.join(sdk, "node.ts") },
  outdir: dist,
  chunkNames: "chunks/[name]-[hash]",
  bundle: true,
  splitting: true,
  // neutral: the core must not assume Node; node.ts's `node:` imports stay imports.
  platform: "neutral",
  external: ["node:*"],
  format: "esm",
  target: "es2022",
  packages: "external",
  logLevel: "warning",
});

const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
execFileSync(process.execPath, [tsc, "-p", path.join(sdk, "tsconfig.build.json")], { stdio: "inherit" });

/** `./x` → `./x.js`, `./dir` → `./dir/index.js`, for every relative specifier of a declaration file. */
function addExtensions(file) {
  const dir = path.dirname(file);
  const text = readFileSync(file, "utf8").replace(/(from |import\()"(\.{1,2}\/[^"]*)"/g, (all, lead, spec) => {
    if (spec.endsWith(".js")) return all;
    const target = path.join(dir, spec);
    const fixed = existsSync(`${target}.d.ts`)
      ? `${spec}.js`
      : existsSync(path.join(target, "index.d.ts"))
        ? `${spec}/index.js`
        : null;
    if (fixed === null) throw new Error(`sdk/build.mjs: ${file} imports ${spec}, which has no declaration file`);
    return `${lead}"${fixed}"`;
  });
  writeFileSync(file, text);
}
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) walk(full);
    else if (name.endsWith(".d.ts")) addExtensions(full);
  }
}
walk(path.join(dist, "types"));
