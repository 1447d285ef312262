/**
 * Issue 9 §1: the identity grammar and injective identity templates. A claim value can hold any
 * character its issuer allows (a git ref may contain `@`, `:`, `*`…); rendered identities must
 * still parse back to exactly the claims, and so never match a glob written for other claims.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { globMatches } from "../../../worker/core/auth/glob";
import { parseIdentity } from "../../../worker/core/auth/identity";
import { identityTemplateProblem, parseRendered, renderIdentity } from "../../../worker/core/federation/claims";

// Full Unicode (well-formed), plus a small alphabet dense in separators, wildcards, escapes,
// whitespace and controls so that collisions would be likely if rendering were not injective.
const tricky = fc.constantFrom(
  "@",
  ":",
  "/",
  "*",
  "?",
  "%",
  "%4",
  "0",
  "A",
  "a",
  "-",
  ".",
  " ",
  "\t",
  "\n",
  "\u0000",
  "\u007f",
  "\u0085",
  "\u2028",
  "{",
  "}",
  "é",
  "😀",
);
const claimValue = fc.oneof(
  fc.string({ unit: "binary", minLength: 1, maxLength: 12 }),
  fc.string({ unit: tricky, minLength: 1, maxLength: 12 }),
);

const TEMPLATES = [
  "ci:github:{repository}@{ref}",
  "ci:gitlab:{project_path}:{ref_type}/{ref}",
  "service:{a}-{b}",
  "ci:x:{a}",
  "ci:{a}@x.{b}a",
  "ci:{a}a@b{b}",
];

function claimsFor(template: string) {
  const names = [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
  return fc
    .tuple(...names.map(() => claimValue))
    .map((values) => Object.fromEntries(names.map((n, i) => [n, values[i]!])));
}

describe("identity grammar", () => {
  it.each([
    ["user:alice@acme.com", true],
    ["agent:claude-code@laptop", true],
    ["ci:github:acme/api@refs/heads/main", true],
    ["service:billing", true],
    [`service:${"a".repeat(240)}`, true],
    [`service:${"a".repeat(241)}`, false],
    ["robot:x", false],
    ["user:", false],
    ["user", false],
    ["user:a b", false],
    ["user:a*", false],
    ["user:a?", false],
    ["user:é", false],
    ["user:a\n", false],
  ])("%j → %s", (text, ok) => {
    expect(parseIdentity(text).ok).toBe(ok);
  });

  it("gives kind and name separately", () => {
    expect(parseIdentity("ci:github:acme/api@refs/heads/main")).toEqual({
      ok: true,
      kind: "ci",
      name: "github:acme/api@refs/heads/main",
    });
  });
});

describe("identity templates are injective", () => {
  it.each(TEMPLATES)(
    "parseRendered(t, renderIdentity(t, claims)) gives back the claims for %s (property)",
    (template) => {
      expect(identityTemplateProblem(template)).toBeNull();
      fc.assert(
        fc.property(claimsFor(template), (claims) => {
          const id = renderIdentity(template, claims);
          if (id === null) return; // too long after encoding: refused, never truncated
          expect(parseIdentity(id).ok).toBe(true);
          expect(parseRendered(template, id)).toEqual(claims);
        }),
        { numRuns: 500 },
      );
    },
  );

  it.each(TEMPLATES)("different claims render different identities for %s (property)", (template) => {
    fc.assert(
      fc.property(claimsFor(template), claimsFor(template), (a, b) => {
        const [ia, ib] = [renderIdentity(template, a), renderIdentity(template, b)];
        if (ia === null || ib === null) return;
        expect(ia === ib).toBe(JSON.stringify(a) === JSON.stringify(b));
      }),
      { numRuns: 500 },
    );
  });

  it("no rendered identity matches a glob that only another repository or ref should match (property)", () => {
    const glob = "ci:github:acme/*@refs/heads/main";
    const repository = fc.oneof(
      claimValue,
      claimValue.map((v) => `acme/${v}`),
      fc.constant("acme/api"),
    );
    const ref = fc.oneof(
      claimValue,
      claimValue.map((v) => `${v}@refs/heads/main`),
      fc.constant("refs/heads/main"),
    );
    fc.assert(
      fc.property(repository, ref, (repository, ref) => {
        const id = renderIdentity("ci:github:{repository}@{ref}", { repository, ref });
        if (id === null) return;
        expect(globMatches(glob, id)).toBe(repository.startsWith("acme/") && ref === "refs/heads/main");
      }),
      { numRuns: 2000 },
    );
  });

  it("renders the ref-injection attack harmlessly, next to the real main ref", () => {
    const attack = renderIdentity("ci:github:{repository}@{ref}", {
      repository: "acme/api",
      ref: "refs/heads/x@refs/heads/main",
    });
    expect(attack).toBe("ci:github:acme/api@refs/heads/x%40refs/heads/main");
    expect(globMatches("ci:github:acme/*@refs/heads/main", attack!)).toBe(false);
    const real = renderIdentity("ci:github:{repository}@{ref}", { repository: "acme/api", ref: "refs/heads/main" });
    expect(globMatches("ci:github:acme/*@refs/heads/main", real!)).toBe(true);
  });

  it("refuses lone surrogates and empty values instead of rendering them", () => {
    expect(renderIdentity("ci:x:{a}", { a: "x\ud800" })).toBeNull();
    expect(renderIdentity("ci:x:{a}", { a: "\udc00" })).toBeNull();
    expect(renderIdentity("ci:x:{a}", { a: "" })).toBeNull();
    expect(renderIdentity("ci:x:{a}", { a: "x\ud83d\ude00" })).toBe("ci:x:x%F0%9F%98%80");
  });

  it("parses only what rendering produces (canonical escapes)", () => {
    const t = "ci:github:{repository}@{ref}";
    expect(parseRendered(t, "ci:github:acme/api@refs/heads/main")).toEqual({
      repository: "acme/api",
      ref: "refs/heads/main",
    });
    for (const bad of [
      "ci:github:acme/api@refs/heads/x%40y",
      "ci:github:acme%2fapi@r",
      "ci:github:acm%65@r",
      "ci:github:a%ZZ@r",
      "ci:github:%C3@r",
      "ci:github:@r",
      "ci:github:a@",
      "ci:github:a@b@c",
      "ci:gitlab:a@b",
    ]) {
      if (bad.endsWith("x%40y")) {
        expect(parseRendered(t, bad)).toEqual({ repository: "acme/api", ref: "refs/heads/x@y" });
        continue;
      }
      expect(parseRendered(t, bad)).toBeNull();
    }
    expect(parseRendered("ci:{e}:{e}", "ci:prod:prod")).toEqual({ e: "prod" });
    expect(parseRendered("ci:{e}:{e}", "ci:prod:dev")).toBeNull();
  });

  it.each([
    ["ci:{a}{b}", "separated"],
    ["ci:{a}x{b}", "separated"],
    ["ci:x%{a}", "%, * or ?"],
    ["ci:*:{a}", "%, * or ?"],
    ["{a}:{b}", "literal"],
    ["ci:a b:{a}", "identity"],
    ["ci:{a", "braces"],
  ])("refuses the template %j (it could not be parsed back)", (template, problem) => {
    expect(identityTemplateProblem(template)).toContain(problem);
    expect(renderIdentity(template, { a: "x", b: "y" })).toBeNull();
    expect(identityTemplateProblem("ci:github:{a}@{b}")).toBeNull();
  });
});
