#!/usr/bin/env node
// The layer rule of docs/architecture.md, checked over every relative import:
//   front door (worker/routes, worker/middleware, worker/dashboard, worker/*.ts)
//        → contract (worker/contract)  ←  Durable Object (durable-objects)  → core (worker/core)
// core imports only core; contract imports contract and core; the Durable Object imports itself,
// contract and core; the front door imports itself, contract and core, and reaches the Durable
// Object only through the type of its class (worker/index.ts exports the class for wrangler).
// Clients (sdk, cli, testing) may import contract and core, never the server's other layers.
// Usage: node scripts/layers.mjs  (exit 1 and one line per violation when the rule is broken)
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** The layer a repo-relative path belongs to, or null for files outside the rule (tests, dev, bench). */
export function layerOf(file) {
  if (file.startsWith("worker/core/")) return "core";
  if (file.startsWith("worker/contract/")) return "contract";
  if (file.startsWith("worker/")) return "front";
  if (file.startsWith("durable-objects/")) return "object";
  if (/^(sdk|cli|mcp|testing)\//.test(file)) return "client";
  return null;
}

const ALLOWED = {
  core: ["core"],
  contract: ["contract", "core"],
  object: ["object", "contract", "core"],
  front: ["front", "contract", "core"],
  client: ["client", "contract", "core"],
};

/** The Durable Object classes the runtime instantiates (worker/index.ts exports each). */
const ENTRY_CLASSES = new Set(["durable-objects/tenant-vault.ts", "durable-objects/operator/operator-plane.ts"]);

/** One import's verdict: null when allowed, else the reason. */
export function violation(from, to, typeOnly) {
  const a = layerOf(from);
  const b = layerOf(to);
  if (a === null || b === null || ALLOWED[a].includes(b)) return null;
  // The front door names a Durable Object's class to type its stub; only the entry point
  // imports the class itself, to export it to the runtime.
  if (a === "front" && ENTRY_CLASSES.has(to) && (typeOnly || from === "worker/index.ts")) return null;
  return `${a} may not import ${b}`;
}

const IMPORT = /^\s*(import|export)\s+(type\s+)?[^;]*?from\s+["'](\.{1,2}\/[^"']+)["']/gms;

function resolveFile(from, spec) {
  const base = join(dirname(from), spec);
  for (const c of [base, `${base}.ts`, `${base}.tsx`, `${base}/index.ts`, base.replace(/\.js$/, ".ts")]) {
    try {
      readFileSync(join(ROOT, c));
      return c;
    } catch {
      // try the next candidate
    }
  }
  return null;
}

function files(dir) {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = join(dir, e.name);
    if (e.isDirectory()) return e.name === "node_modules" || e.name === "dist" ? [] : files(rel);
    return /\.tsx?$/.test(e.name) ? [rel] : [];
  });
}

/** Every violation in the tree, as `file: import → target (reason)`. */
export function checkLayers() {
  const out = [];
  for (const dir of ["worker", "durable-objects", "sdk", "cli", "testing"]) {
    for (const file of files(dir)) {
      const text = readFileSync(join(ROOT, file), "utf8");
      for (const m of text.matchAll(IMPORT)) {
        const to = resolveFile(file, m[3]);
        if (to === null) continue;
        const reason = violation(file, relative(ROOT, join(ROOT, to)), m[2] !== undefined);
        if (reason) out.push(`${file}: ${m[3]} (${reason})`);
      }
    }
  }
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const found = checkLayers();
  for (const line of found) console.log(line);
  process.exit(found.length === 0 ? 0 : 1);
}
