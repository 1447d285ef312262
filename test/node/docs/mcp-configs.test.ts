import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "../../..");
const SKIP = new Set(["node_modules", ".git", ".wrangler", "dist", ".ghostvault"]);

/** Every Markdown file of the project (README, docs/, package READMEs…). */
function markdownFiles(dir = ROOT): string[] {
  return readdirSync(dir).flatMap((name) => {
    if (SKIP.has(name)) return [];
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return markdownFiles(path);
    return name.endsWith(".md") ? [path] : [];
  });
}

// `npx ghostvault` outside this checkout fetches whatever the public registry calls `ghostvault`
// and starts it with the user's token in its environment: a supply-chain hole in our own docs.
const NPX_COMMAND = /\bnpx\s+(?:-[-\w=]+\s+)*ghostvault\b/;
const NPX_CONFIG = /"command"\s*:\s*"npx"\s*,\s*"args"\s*:\s*\[[^\]]*"(?:-y"\s*,\s*")?ghostvault/;

describe("documentation never tells editors or users to run ghostvault through npx", () => {
  it("finds the project's documents (positive control)", () => {
    const files = markdownFiles().map((f) => relative(ROOT, f));
    expect(files).toContain("README.md");
    expect(NPX_COMMAND.test("claude mcp add ghostvault -- npx -y ghostvault mcp")).toBe(true);
    expect(NPX_CONFIG.test(`{ "command": "npx", "args": ["ghostvault", "mcp"] }`)).toBe(true);
  });

  it("no document contains the npx form", () => {
    const offending = markdownFiles().flatMap((file) =>
      readFileSync(file, "utf8")
        .split("\n")
        .map((line, i) => ({ where: `${relative(ROOT, file)}:${i + 1}`, line }))
        .filter(({ line }) => NPX_COMMAND.test(line) || NPX_CONFIG.test(line)),
    );
    expect(offending).toEqual([]);
  });
});
