import { expect, it } from "vitest";
import { api, bootstrap, expectStatus, type ErrorBody } from "../helpers";

/**
 * V8 as shipped in workerd misreads an object key that needs a JSON escape once it has parsed a
 * key ending in a backslash in the same place of an object of the same shape, in any request of
 * the isolate (docs/security-model.md "Platform"): after `{"!":…,"\\":…}`, the body
 * `{"!":…,"\"":…}` parses with the key `\`. A trust's claim conditions are the one place a caller
 * names object keys, so a condition on claim `"` would have been stored and enforced as one on
 * claim `\`. Such claim names are refused instead; no issuer uses them.
 */

const trust = (name: string, conditions: Record<string, string>) => ({
  name,
  issuer: "https://token.actions.githubusercontent.com",
  audience: "vault",
  conditions,
  identity_template: "ci:github:{repository}@{ref}",
  credentials: ["deploy/*"],
});

type Trusts = { items: { name: string; conditions: Record<string, string> }[] };

it("a condition on a claim name that needs a JSON escape is refused, even after another tenant primed the parser", async () => {
  const attacker = await bootstrap("primer");
  const victim = await bootstrap("victim");
  // Another tenant's request leaves a key ending in a backslash in the parser's memory (refused, but parsed).
  const primed = await api(attacker.adminToken, "POST", "/v1/oidc/trusts", trust("prime", { "!": "x", "\\": "x" }));
  expect(primed.status).toBe(400);
  for (const claim of ['"', "\\", "\n", "\u0001", "a\\b", 'repo"']) {
    const refused = await expectStatus<ErrorBody>(
      await api(victim.adminToken, "POST", "/v1/oidc/trusts", trust("quoted", { "!": "acme", [claim]: "acme" })),
      400,
    );
    expect(refused.error.code).toBe("validation_failed");
    expect(refused.error.message).toMatch(/conditions.*claim names have no quote, backslash or control character/s);
  }
  expect((await expectStatus<Trusts>(await api(victim.adminToken, "GET", "/v1/oidc/trusts"), 200)).items).toEqual([]);
});

it("control: plain claim names, including the punctuation issuers use, are stored exactly as sent", async () => {
  const { adminToken } = await bootstrap("plain");
  const conditions = {
    "!": "acme",
    repository_owner: "acme",
    "https://example.com/claims/team": "platform",
    "job_workflow_ref:x": "acme/*@refs/heads/main",
    "é-unicode": "ok",
  };
  await expectStatus(await api(adminToken, "POST", "/v1/oidc/trusts", trust("plain", conditions)), 201);
  const { items } = await expectStatus<Trusts>(await api(adminToken, "GET", "/v1/oidc/trusts"), 200);
  expect(items.map((t) => t.conditions)).toEqual([conditions]);
});
