import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const WORKERS_TESTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../workers");

/**
 * Calls that go through vitest-pool-workers' entrypoint wrapper, whose per-call Proxy layer makes
 * every later request in the file slower (docs/testing.md). Workers tests use workerFetch()/api().
 */
const SLOW_CALLS: readonly RegExp[] = [
  /\bSELF\s*\.\s*fetch\s*\(/,
  /import\s*\{[^}]*\bSELF\b[^}]*\}\s*from\s*["']cloudflare:test["']/,
  /\bexports\s*\.\s*default\s*\.\s*fetch\s*\(/,
];

/** The lines of `source` that make a slow call, as "line: text". */
export function slowCalls(source: string): string[] {
  return source
    .split("\n")
    .map((line, i) => [i + 1, line] as const)
    .filter(([, line]) => SLOW_CALLS.some((re) => re.test(line)))
    .map(([n, line]) => `${n}: ${line.trim()}`);
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return tsFiles(full);
    return e.name.endsWith(".ts") ? [full] : [];
  });
}

describe("workers tests stay fast", () => {
  it("the check finds SELF.fetch, a SELF import and exports.default.fetch, and passes the fast call", () => {
    expect(slowCalls('const r = await SELF.fetch("https://vault.test/v1/health");')).toHaveLength(1);
    expect(slowCalls('import { env, SELF } from "cloudflare:test";')).toHaveLength(1);
    expect(slowCalls("await exports.default.fetch(request);")).toHaveLength(1);
    expect(
      slowCalls('const r = await workerFetch("https://vault.test/v1/health");\n// never `SELF.fetch`: see docs'),
    ).toEqual([]);
  });

  it("no file under test/workers sends requests through SELF", () => {
    const files = tsFiles(WORKERS_TESTS);
    expect(files.length).toBeGreaterThan(10);
    const found = files.flatMap((f) =>
      slowCalls(readFileSync(f, "utf8")).map((hit) => `${path.relative(WORKERS_TESTS, f)}:${hit}`),
    );
    expect(found, "use workerFetch() or api() from test/workers/helpers.ts (docs/testing.md)").toEqual([]);
  });
});
