/**
 * Claim conditions (property-tested against a reference matcher written here) and identity
 * templates.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  identityTemplatePlaceholders,
  matchConditions,
  parseRendered,
  renderIdentity,
} from "../../../worker/core/federation/claims";

/**
 * Reference glob matcher by recursive backtracking over UTF-16 code units: `*` any run (including
 * none), `?` exactly one unit, everything else literal, whole string. Deliberately unlike the
 * regex-based implementation under test.
 */
function refGlob(p: string, s: string, i = 0, j = 0): boolean {
  if (i === p.length) return j === s.length;
  if (p[i] === "*") {
    for (let k = j; k <= s.length; k++) if (refGlob(p, s, i + 1, k)) return true;
    return false;
  }
  if (j === s.length) return false;
  return (p[i] === "?" || p[i] === s[j]) && refGlob(p, s, i + 1, j + 1);
}

// Small alphabets so that matches are common, with every regex metacharacter and separator.
const CHARS = ["a", "b", "/", ":", "@", ".", "-", "^", "$", "(", ")", "[", "]", "{", "}", "|", "+", "\\", "\n", "é"];
const valueArb = fc.array(fc.constantFrom(...CHARS), { maxLength: 8 }).map((a) => a.join(""));
const patternArb = fc.array(fc.constantFrom(...CHARS, "*", "?"), { maxLength: 8 }).map((a) => a.join(""));

describe("matchConditions", () => {
  it("agrees with the reference matcher on one condition (property)", () => {
    fc.assert(
      fc.property(patternArb, valueArb, (pattern, value) => {
        expect(matchConditions({ ref: value }, { ref: pattern })).toBe(refGlob(pattern, value));
      }),
      { numRuns: 3000 },
    );
  });

  it("agrees when a pattern is derived from the value, so most cases match (property)", () => {
    const derived = valueArb.chain((value) =>
      fc
        .array(fc.constantFrom("keep", "star", "qmark", "starAfter"), {
          minLength: value.length,
          maxLength: value.length,
        })
        .map((ops) => ({
          value,
          pattern: Array.from(
            value,
            (ch, k) => ({ keep: ch, star: "*", qmark: "?", starAfter: `${ch}*` })[ops[k]!],
          ).join(""),
        })),
    );
    fc.assert(
      fc.property(derived, ({ value, pattern }) => {
        expect(refGlob(pattern, value)).toBe(true);
        expect(matchConditions({ c: value }, { c: pattern })).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it("is a conjunction over all conditions (property)", () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom("repository", "ref", "environment", "sub"), fc.tuple(patternArb, valueArb)),
        (pairs) => {
          const entries = Object.entries(pairs);
          const claims = Object.fromEntries(entries.map(([k, [, v]]) => [k, v]));
          const conditions = Object.fromEntries(entries.map(([k, [p]]) => [k, p]));
          const expected = entries.length > 0 && entries.every(([, [p, v]]) => refGlob(p, v));
          expect(matchConditions(claims, conditions)).toBe(expected);
        },
      ),
    );
  });

  it("matches exact values and globs on GitHub-shaped claims", () => {
    const claims = { repository: "acme/api", ref: "refs/heads/main", environment: "production", run_id: "42" };
    expect(matchConditions(claims, { repository: "acme/api", ref: "refs/heads/main" })).toBe(true);
    expect(matchConditions(claims, { repository: "acme/*", ref: "refs/heads/*" })).toBe(true);
    expect(matchConditions(claims, { repository: "acme/ap?" })).toBe(true);
    expect(matchConditions(claims, { repository: "acme/api", ref: "refs/heads/dev" })).toBe(false);
    expect(matchConditions(claims, { repository: "Acme/api" })).toBe(false);
    expect(matchConditions(claims, { repository: "acme" })).toBe(false);
    expect(matchConditions(claims, { repository: "acme.api" })).toBe(false); // "." is literal
    expect(matchConditions({ repository: "acmeXapi" }, { repository: "acme.api" })).toBe(false);
  });

  it("stringifies numbers and booleans, never objects, arrays or null", () => {
    expect(matchConditions({ run_id: 42, ref_protected: true }, { run_id: "42", ref_protected: "true" })).toBe(true);
    expect(matchConditions({ run_id: 42 }, { run_id: "4?" })).toBe(true);
    for (const v of [null, ["acme/api"], { toString: () => "acme/api" }]) {
      expect(matchConditions({ repository: v }, { repository: "*" })).toBe(false);
    }
    expect(matchConditions({ repository: "acme/api" }, { repository: "*" })).toBe(true);
  });

  it("never matches a missing claim, even with *, nor inherited properties", () => {
    expect(matchConditions({ repository: "acme/api" }, { environment: "*" })).toBe(false);
    expect(matchConditions({}, { constructor: "*", toString: "*" })).toBe(false);
    expect(matchConditions({ environment: "" }, { environment: "*" })).toBe(true);
  });

  it("matches no condition with a claim value longer than 512 characters (control: 512 matches)", () => {
    expect(matchConditions({ ref: "a".repeat(512) }, { ref: "*" })).toBe(true);
    expect(matchConditions({ ref: "a".repeat(513) }, { ref: "*" })).toBe(false);
    expect(matchConditions({ ref: "a".repeat(10_000) }, { ref: "*a*a*a*a*a*a*a*a*a*a*a*a*b" })).toBe(false);
  });

  it("matches nothing when there are no conditions (fail closed)", () => {
    expect(matchConditions({ repository: "acme/api" }, {})).toBe(false);
  });
});

describe("renderIdentity", () => {
  const gh = { repository: "acme/api", ref: "refs/heads/main", run_id: 42, environment: "prod" };

  it("fills placeholders from string claims", () => {
    expect(renderIdentity("ci:github:{repository}@{ref}", gh)).toBe("ci:github:acme/api@refs/heads/main");
    expect(renderIdentity("ci:gitlab:{project_path}", { project_path: "acme/platform/api" })).toBe(
      "ci:gitlab:acme/platform/api",
    );
    expect(renderIdentity("service:deployer", gh)).toBe("service:deployer");
    expect(renderIdentity("ci:{environment}:{environment}", gh)).toBe("ci:prod:prod");
  });

  it("does not interpret $ patterns in values", () => {
    expect(renderIdentity("ci:x:{repository}", { repository: "a$&b$1" })).toBe("ci:x:a$&b$1");
  });

  it("refuses missing, empty and non-string claims", () => {
    expect(renderIdentity("ci:github:{repository}@{environment}", { repository: "acme/api" })).toBeNull();
    expect(renderIdentity("ci:github:{repository}@{environment}", { ...gh, environment: "" })).toBeNull();
    expect(renderIdentity("ci:github:{run_id}", gh)).toBeNull();
    expect(renderIdentity("ci:github:{constructor}", gh)).toBeNull();
    expect(renderIdentity("ci:github:{repository}@{ref}", gh)).not.toBeNull();
  });

  // Changed deliberately (issue 9 §1): these values used to be refused; they are now
  // percent-encoded, which keeps them out of the identity just as well and keeps rendering total.
  it.for([" ", "\t", "\n", "\u0000", "\u007f", "\u0085", "\u00a0", "\u2028", "{", "}", "{ref}", "*", "?", "%", ":"])(
    "encodes a value containing %j so that none of it reaches the identity",
    (bad) => {
      const id = renderIdentity("ci:github:{repository}", { repository: `acme/${bad}x` });
      expect(id).toMatch(/^ci:github:acme\/(%[0-9A-F]{2}|[a-z])+x$/);
      expect(parseRendered("ci:github:{repository}", id!)).toEqual({ repository: `acme/${bad}x` });
      expect(renderIdentity("ci:github:{repository}", { repository: "acme/x" })).toBe("ci:github:acme/x");
    },
  );

  it("refuses results outside the identity grammar, and encodes non-ASCII", () => {
    expect(renderIdentity("ci:github:{repository}", { repository: "acmé/api" })).toBe("ci:github:acm%C3%A9/api");
    expect(renderIdentity("ci:github:{repository}", { repository: "a".repeat(234) })).toBeNull(); // 241 after "ci:"
    expect(renderIdentity("ci:github:{repository}", { repository: "a".repeat(233) })).toHaveLength(243);
    expect(renderIdentity("ci:github:{repository}", { repository: "é".repeat(40) })).toBeNull(); // 240 after encoding, 247 with github:
    expect(renderIdentity("robot:{repository}", gh)).toBeNull();
    // Changed deliberately: the kind must be the template's own text, never a claim's.
    expect(renderIdentity("{repository}", { repository: "ci:x" })).toBeNull();
    expect(renderIdentity("ci:", gh)).toBeNull();
  });

  it("refuses unusable templates", () => {
    for (const t of [
      "ci:github:{repository",
      "ci:github:repository}",
      "ci:{}",
      "ci:{a-b}",
      "ci:{{repository}}",
      "ci:{ repository }",
    ]) {
      expect(identityTemplatePlaceholders(t)).toBeNull();
      expect(renderIdentity(t, { repository: "acme/api", "a-b": "x", " repository ": "x" })).toBeNull();
    }
    expect(identityTemplatePlaceholders("ci:github:{repository}@{ref}")).toEqual(["repository", "ref"]);
  });

  it("renders only identities of the grammar, which parse back to the claims (property)", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 }), (repository, ref) => {
        const id = renderIdentity("ci:github:{repository}@{ref}", { repository, ref });
        if (id !== null) {
          expect(id).toMatch(/^ci:[\x21-\x29\x2b-\x3e\x40-\x7e]{1,240}$/);
          expect(parseRendered("ci:github:{repository}@{ref}", id)).toEqual({ repository, ref });
        } else {
          expect(repository === "" || ref === "").toBe(true);
        }
      }),
    );
  });
});
