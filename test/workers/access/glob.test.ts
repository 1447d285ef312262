import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { globMatches } from "../../../worker/auth/glob";

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

// Alphabets that make matches likely and include every regex metacharacter.
const chars = fc.constantFrom("a", "b", ":", "/", "@", ".", "*", "?", "+", "(", ")", "[", "]", "^", "$", "|", "\\", "{", "}", "-");
const textChars = fc.constantFrom("a", "b", ":", "/", "@", ".", "+", "(", ")", "[", "]", "^", "$", "|", "\\", "{", "}", "-", "*", "?");

describe("identity globs", () => {
  it("agrees with the reference matcher on random globs and identities", () => {
    fc.assert(
      fc.property(fc.array(chars, { maxLength: 10 }).map((a) => a.join("")), fc.array(textChars, { maxLength: 12 }).map((a) => a.join("")), (glob, text) => {
        expect(globMatches(glob, text)).toBe(reference(glob, text));
      }),
      { numRuns: 3000 },
    );
  });

  it("agrees with the reference when the identity is built to match", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constant("*"), fc.constant("?"), textChars.filter((c) => c !== "*" && c !== "?")), { maxLength: 8 }), fc.array(textChars, { maxLength: 4 }), (parts, filler) => {
        const glob = parts.join("");
        const text = parts.map((p) => (p === "*" ? filler.join("") : p === "?" ? "x" : p)).join("");
        expect(globMatches(glob, text)).toBe(true);
        expect(reference(glob, text)).toBe(true);
      }),
      { numRuns: 2000 },
    );
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
