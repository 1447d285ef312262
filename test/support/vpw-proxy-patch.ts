/**
 * Works around cloudflare/workers-sdk#15092 / #15446 in @cloudflare/vitest-pool-workers 0.15.1:
 * `createProxyPrototypeClass` wraps the shared prototype of its Durable Object (and entrypoint)
 * wrapper class in one more Proxy on EVERY construction, so each new Durable Object instance makes
 * every later property lookup on every instance one step deeper: a suite that creates a tenant per
 * test slows quadratically and can end in a RangeError. The Proxy's handler only uses its
 * arguments, so installing it once is equivalent; that is the upstream fix (PR #15106, not
 * released for 0.15.x).
 *
 * vitest.config.ts calls this before any runtime starts, so every way of running vitest gets it
 * (`npm ci` skips install scripts, so a postinstall would not). It edits one installed file, only
 * for the exact version and text it knows, and is idempotent. When it cannot apply, the config
 * falls back to one runtime per file, which is slower but not affected across files.
 */

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

const PACKAGE = "@cloudflare/vitest-pool-workers";
const KNOWN_VERSION = "0.15.1";
const FILE = "dist/worker/lib/cloudflare/test-internal.mjs";
const MARKER = "/* ghostvault: proxy installed once (workers-sdk#15092) */";
const ORIGINAL =
  "function createProxyPrototypeClass(superClass, getUnknownPrototypeKey) {\n\tfunction Class(...args) {\n\t\tClass.prototype = new Proxy(";
const PATCHED = `function createProxyPrototypeClass(superClass, getUnknownPrototypeKey) {\n\t${MARKER} let proxied = false;\n\tfunction Class(...args) {\n\t\tif (!proxied) proxied = true, Class.prototype = new Proxy(`;

/** Outcome of {@link ensureProxyPatch}: whether the installed pool now installs its Proxy once. */
export type PatchOutcome = { patched: true } | { patched: false; reason: string };

/** Patches the installed pool if it is the known version; see the file comment. */
export function ensureProxyPatch(root: string): PatchOutcome {
  // The package's exports map hides package.json from require.resolve: read it from node_modules.
  const dir = path.join(root, "node_modules", PACKAGE);
  if (!existsSync(path.join(dir, "package.json")))
    return { patched: false, reason: `${PACKAGE} is not installed in ${root}` };
  const version = (JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as { version: string }).version;
  if (version !== KNOWN_VERSION)
    return {
      patched: false,
      reason: `${PACKAGE} ${version} is not ${KNOWN_VERSION}; check whether it still needs the patch`,
    };
  const file = path.join(dir, FILE);
  const source = readFileSync(file, "utf8");
  if (source.includes(MARKER)) return { patched: true };
  if (source.split(ORIGINAL).length !== 2)
    return { patched: false, reason: `${FILE} does not contain the expected code` };
  writeFileSync(file, source.replace(ORIGINAL, PATCHED));
  return { patched: true };
}
