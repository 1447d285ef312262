#!/usr/bin/env node
// Moves modules with `git mv` and rewrites every relative import that points at them (and every
// relative import inside them), so a folder re-organisation is one reviewable, repeatable step.
// Usage: node scripts/move-modules.mjs <from>=<to> [...]   (files or folders, repo-relative)
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const root = resolve(dirname(new URL(import.meta.url).pathname), "..");
const git = (...args) => execFileSync("git", args, { cwd: root, encoding: "utf8" });

const pairs = process.argv.slice(2).map((arg) => arg.split("="));
if (pairs.length === 0 || pairs.some((p) => p.length !== 2)) {
  console.error("usage: node scripts/move-modules.mjs <from>=<to> ...");
  process.exit(2);
}

const tracked = git("ls-files").split("\n").filter(Boolean);
const CODE = /\.(?:ts|tsx|mts|mjs|cjs|js)$/;

/** old repo-relative file path -> new one, for every tracked file under a moved path. */
const moves = new Map();
for (const [from, to] of pairs) {
  for (const file of tracked) {
    if (file === from) moves.set(file, to);
    else if (file.startsWith(`${from}/`)) moves.set(file, `${to}/${file.slice(from.length + 1)}`);
  }
}
const newPath = (file) => moves.get(file) ?? file;

const trackedSet = new Set(tracked);
/** Resolves a relative specifier written in `fromFile` (old layout) to a tracked file, or null. */
function resolveSpecifier(fromFile, spec) {
  const base = join(dirname(fromFile), spec);
  const candidates = [base, `${base}.ts`, `${base}.tsx`, `${base}/index.ts`, `${base}/index.tsx`];
  if (base.endsWith(".js")) candidates.push(base.replace(/\.js$/, ".ts"));
  return candidates.find((c) => trackedSet.has(c)) ?? null;
}

/** The specifier for `target` as written from `fromFile`, keeping the original's style. */
function specifierFor(fromFile, target, original, resolved) {
  let rel = relative(dirname(fromFile), target);
  if (!rel.startsWith(".")) rel = `./${rel}`;
  // Keep the original form: extension-less, `/index` omitted, or `.js` for `.ts`.
  if (resolved.endsWith("/index.ts") && !original.endsWith("index") && !original.endsWith("index.ts")) {
    rel = rel.replace(/\/index\.ts$/, "");
    if (rel === ".") rel = "./index";
  } else if (original.endsWith(".js") && resolved.endsWith(".ts")) rel = rel.replace(/\.ts$/, ".js");
  else if (!/\.(?:ts|tsx|mjs|js|json)$/.test(original)) rel = rel.replace(/\.(?:ts|tsx)$/, "");
  return rel;
}

const IMPORT = /((?:from|import|require|mock)\s*\(?\s*)(["'])(\.{1,2}\/[^"']*)\2/g;
let changed = 0;
for (const file of tracked.filter((f) => CODE.test(f) && !f.startsWith("action/dist/"))) {
  const text = readFileSync(join(root, file), "utf8");
  const out = text.replace(IMPORT, (whole, lead, quote, spec) => {
    const target = resolveSpecifier(file, spec);
    if (target === null) return whole;
    const next = specifierFor(newPath(file), newPath(target), spec, target);
    return `${lead}${quote}${next}${quote}`;
  });
  if (out !== text) {
    writeFileSync(join(root, file), out);
    changed++;
  }
}
for (const [from, to] of moves) {
  mkdirSync(dirname(join(root, to)), { recursive: true });
  git("mv", from, to);
}
console.log(`moved ${moves.size} files, rewrote imports in ${changed}`);
