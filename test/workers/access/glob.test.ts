import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { globMatches } from "../../../worker/core/auth/glob";

/** Reference matcher, written independently: plain backtracking over the glob's characters. */
function reference(glob: string, text: string): boolean {
  const g = Array.from(glob);
  const t = Array.from(text);
  const match = (i: number, j: number): boolean => {
    if (i === g.length) return j === t.length;
    if (g[i] === "*") return match(i + 1, j) || (j < t.length && match(i, j + 1));
    if (j === t.length) return false;
    return (g[i] === "?" || g[i] === t[j]) && match(i + 1, j + 1);
  };
  return match(0, 0);
}

/** Second reference: the regex translation the matcher replaced (backtracks; fine on short inputs). */
function regexReference(glob: string, text: string): boolean {
  const body = Array.from(glob, (ch) =>
    ch === "*" ? ".*" : ch === "?" ? "." : ch.replace(/[\\^$.|+()[\]{}]/g, "\\$&"),
  ).join("");
  return new RegExp(`^${body}$`, "s").test(text);
}

// Alphabets that make matches likely and include every regex metacharacter.
const chars = fc.constantFrom(
  "a",
  "b",
  ":",
  "/",
  "@",
  ".",
  "*",
  "?",
  "+",
  "(",
  ")",
  "[",
  "]",
  "^",
  "$",
  "|",
  "\\",
  "{",
  "}",
  "-",
);
const textChars = fc.constantFrom(
  "a",
  "b",
  ":",
  "/",
  "@",
  ".",
  "+",
  "(",
  ")",
  "[",
  "]",
  "^",
  "$",
  "|",
  "\\",
  "{",
  "}",
  "-",
  "*",
  "?",
);

describe("identity globs", () => {
  it("agrees with the reference matcher on random globs and identities", () => {
    fc.assert(
      fc.property(
        fc.array(chars, { maxLength: 10 }).map((a) => a.join("")),
        fc.array(textChars, { maxLength: 12 }).map((a) => a.join("")),
        (glob, text) => {
          expect(globMatches(glob, text)).toBe(reference(glob, text));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("agrees with the reference when the identity is built to match", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.constant("*"),
            fc.constant("?"),
            textChars.filter((c) => c !== "*" && c !== "?"),
          ),
          { maxLength: 8 },
        ),
        fc.array(textChars, { maxLength: 4 }),
        (parts, filler) => {
          const glob = parts.join("");
          const text = parts.map((p) => (p === "*" ? filler.join("") : p === "?" ? "x" : p)).join("");
          expect(globMatches(glob, text)).toBe(true);
          expect(reference(glob, text)).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("agrees with the replaced regex on UTF-16 code units, surrogates included (property)", () => {
    // `?` is one UTF-16 code unit, as the regex (no `u` flag) had it; an astral character is two.
    const unit = fc.constantFrom("a", "*", "?", "\ud83d", "\ude00", "😀", "é", "\n");
    const str = (n: number) => fc.array(unit, { maxLength: n }).map((a) => a.join(""));
    fc.assert(
      fc.property(str(8), str(10), (glob, text) => {
        expect(globMatches(glob, text)).toBe(regexReference(glob, text));
      }),
      { numRuns: 3000 },
    );
    expect(globMatches("?", "😀")).toBe(false);
    expect(globMatches("??", "😀")).toBe(true);
  });

  it("answers hostile patterns correctly on long identities (work is measured in bench/glob.mjs)", () => {
    const long = "a".repeat(10_000);
    expect(globMatches("*a".repeat(12) + "*b", long)).toBe(false);
    expect(globMatches("*a".repeat(12) + "*b", long + "b")).toBe(true);
    expect(globMatches("*?".repeat(12) + "*x*", long)).toBe(false);
    expect(globMatches("*?".repeat(12) + "*x*", long + "x")).toBe(true);
    expect(globMatches("a*a", "a")).toBe(false); // first and last pieces may not overlap
    expect(globMatches("a*a", "aa")).toBe(true);
  });

  it.each([
    ["agent:*", "agent:claude-code@laptop", true],
    ["agent:*", "user:alice@acme.com", false],
    ["ci:github:acme/*@refs/heads/main", "ci:github:acme/api@refs/heads/main", true],
    ["ci:github:acme/*@refs/heads/main", "ci:github:acme/api@refs/heads/feature", false],
    ["user:*@acme.com", "user:alice@acme.com", true],
    ["user:*@acme.com", "user:alice@acme.com.evil", false],
    ["user:a?ice@acme.com", "user:alice@acme.com", true],
    ["user:a.ice@acme.com", "user:alice@acme.com", false],
    ["USER:*", "user:alice", false],
  ])("%s vs %s → %s", (glob, identity, expected) => {
    expect(globMatches(glob, identity)).toBe(expected);
  });
});
