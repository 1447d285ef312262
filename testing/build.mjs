#!/usr/bin/env node
// Builds the testing package into testing/dist/: one ESM bundle per Worker (Miniflare cannot follow
// npm imports at run time), the D1 migrations as shipped SQL, the Node entry (index.js) and its
// declarations (tsc, testing/tsconfig.build.json).
import { execFileSync } from "node:child_process";
import { cpSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildSync } from "esbuild";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");
const dist = path.join(here, "dist");
rmSync(dist, { recursive: true, force: true });

const worker = {
  bundle: true,
  format: "esm",
  target: "es2022",
  platform: "neutral",
  conditions: ["workerd", "worker", "browser"],
  mainFields: ["module", "main"],
  external: ["node:*", "cloudflare:*"],
  logLevel: "warning",
};
buildSync({
  ...worker,
  entryPoints: [path.join(root, "worker/index.ts")],
  outfile: path.join(dist, "workers/vault.mjs"),
});
buildSync({
  ...worker,
  entryPoints: [path.join(root, "dev/kms/index.ts")],
  outfile: path.join(dist, "workers/kms.mjs"),
});
cpSync(path.join(root, "migrations"), path.join(dist, "migrations"), {
  recursive: true,
  filter: (src) => !src.includes(`${path.sep}meta`),
});

buildSync({
  entryPoints: [path.join(here, "index.ts")],
  outfile: path.join(dist, "index.js"),
  bundle: true,
  platform: "node",
  format: "esm",
  target: "es2022",
  external: ["@ghoststack/vault-sdk", "miniflare"],
  packages: "external",
  logLevel: "warning",
});
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
execFileSync(process.execPath, [tsc, "-p", path.join(here, "tsconfig.build.json")], { stdio: "inherit" });
