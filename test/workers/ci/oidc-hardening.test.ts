/**
 * Issue 9 §4 and §11 against the running vault: trust URLs the vault must not fetch, fetch
 * details kept out of anonymous answers, fetches cached and budgeted however many anonymous
 * requests arrive, and ID tokens that are single-use and short-lived. Each refusal has a positive
 * control beside it. Floods go straight to the tenant's object (vaultStub().oidcLeases), the path
 * the Worker route takes after parsing, so they cost no HTTP round trip.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { vaultStub } from "../../../worker/routes/define";
import { api, expectStatus } from "../helpers";
import { NOW, NOW_MS, RSA, signToken } from "../federation/jwt-fixtures";
import { issuerStats, world, type ErrorBody } from "./oidc-world";

type AuditItems = { items: { entry: { outcome: string; details: Record<string, unknown> } }[] };
const denials = async (adminToken: string) =>
  (await expectStatus<AuditItems>(await api(adminToken, "GET", "/v1/audit?type=oidc.denied&limit=200"), 200)).items;
const rs256 = (claims: Record<string, unknown>) => signToken("RS256", RSA.privateKey, { kid: "rsa-1" }, claims);

describe("trust URLs the vault would not fetch are refused at creation (§4)", () => {
  it("400 naming issuer or jwks_uri for IP literals, local names, http, ports and userinfo; a public https name is accepted", async () => {
    const w = await world();
    const base = {
      audience: "a",
      conditions: { repository_owner: "acme" },
      identity_template: "ci:x:{sub}",
      credentials: ["deploy/*"],
    };
    const bad = [
      "http://169.254.169.254/latest",
      "https://169.254.169.254",
      "https://2130706433",
      "https://0x7f.0.0.1",
      "https://[::ffff:127.0.0.1]",
      "https://localhost",
      "https://metadata",
      "https://kms.internal",
      "https://u:p@issuer.example.com",
      "https://issuer.example.com:8443",
      "http://issuer.example.com",
    ];
    for (const [i, url] of bad.entries()) {
      const asIssuer = await expectStatus<ErrorBody>(
        await api(w.adminToken, "POST", "/v1/oidc/trusts", { ...base, name: `i${i}`, issuer: url }),
        400,
      );
      expect(asIssuer.error.message, url).toMatch(/^invalid request: issuer: /);
      const asJwks = await expectStatus<ErrorBody>(
        await api(w.adminToken, "POST", "/v1/oidc/trusts", {
          ...base,
          name: `j${i}`,
          issuer: "https://issuer.example.com",
          jwks_uri: url,
        }),
        400,
      );
      expect(asJwks.error.message, url).toMatch(/^invalid request: jwks_uri: /);
    }
    const listed = await expectStatus<{ items: { name: string }[] }>(
      await api(w.adminToken, "GET", "/v1/oidc/trusts"),
      200,
    );
    expect(listed.items.map((t) => t.name)).toEqual(["github-main"]);
    await expectStatus(
      await api(w.adminToken, "POST", "/v1/oidc/trusts", {
        ...base,
        name: "ok",
        issuer: "https://gitlab.example.com",
        jwks_uri: "https://gitlab.example.com/oauth/discovery/keys",
      }),
      201,
    );
  });
});

describe("outbound fetches answer anonymous callers opaquely and are cached and budgeted (§4)", () => {
  it("a failing discovery: the caller learns only that keys were unavailable; the fetch detail is in the audit entry", async () => {
    const w = await world();
    const gone = `${w.issuer}-gone`; // served 404 by the test issuer
    await expectStatus(
      await api(w.adminToken, "POST", "/v1/oidc/trusts", {
        name: "gone",
        issuer: gone,
        audience: "https://vault.example.com",
        conditions: { repository_owner: "acme" },
        identity_template: "ci:x:{sub}",
        credentials: ["deploy/*"],
      }),
      201,
    );
    const refused = await expectStatus<ErrorBody>(await w.ask(await rs256(w.claims({ iss: gone }))), 401);
    expect(refused.error.message).not.toMatch(/answered|404|issuer\.test|GET /);
    const entry = (await denials(w.adminToken)).at(-1)!.entry;
    expect(entry.details.detail).toMatch(
      /^http_status: GET https:\/\/issuer\.test\/.*-gone\/\.well-known\/openid-configuration answered 404$/,
    );
    // Positive control: the working issuer still leases.
    await expectStatus(await w.ask(await rs256(w.claims())), 201);
  });

  it("50 anonymous requests with unknown kids or a failing discovery cause at most 2 fetches each", async () => {
    const w = await world();
    const gone = `${w.issuer}-gone`;
    await expectStatus(
      await api(w.adminToken, "POST", "/v1/oidc/trusts", {
        name: "gone",
        issuer: gone,
        audience: "https://vault.example.com",
        conditions: { repository_owner: "acme" },
        identity_template: "ci:x:{sub}",
        credentials: ["deploy/*"],
      }),
      201,
    );
    const stub = vaultStub(env, w.tenantId);
    const body = (token: string) => ({ tenant_id: w.tenantId, token, credentials: ["deploy/aws-key"] });
    for (let i = 0; i < 50; i++) {
      const unknownKid = await stub.oidcLeases(
        `req-${i}`,
        body(await signToken("RS256", RSA.privateKey, { kid: `nope-${i}` }, w.claims())),
      );
      const failingDiscovery = await stub.oidcLeases(`req-g-${i}`, body(await rs256(w.claims({ iss: gone }))));
      expect([unknownKid.ok, failingDiscovery.ok]).toEqual([false, false]);
    }
    const known = await issuerStats(w.id);
    expect(known.jwksFetches).toBeLessThanOrEqual(2);
    expect(known.discoveryFetches).toBe(1);
    expect((await issuerStats(`${w.id}-gone`)).discoveryFetches).toBe(1);
    // Positive control: a valid token is accepted from the cache.
    await expectStatus(await w.ask(await rs256(w.claims())), 201);
    expect((await issuerStats(w.id)).jwksFetches).toBeLessThanOrEqual(2);
  });

  it("many trusts with failing issuers: at most the per-tenant budget of fetches a minute, the rest refused unfetched and audited", async () => {
    const w = await world();
    const stub = vaultStub(env, w.tenantId);
    const issuers = Array.from({ length: 25 }, (_, i) => `${w.issuer}-x${i}`);
    for (const [i, iss] of issuers.entries()) {
      await expectStatus(
        await api(w.adminToken, "POST", "/v1/oidc/trusts", {
          name: `x${i}`,
          issuer: iss,
          audience: "https://vault.example.com",
          conditions: { repository_owner: "acme" },
          identity_template: "ci:x:{sub}",
          credentials: ["deploy/*"],
        }),
        201,
      );
    }
    for (const iss of issuers) {
      const r = await stub.oidcLeases(crypto.randomUUID(), {
        tenant_id: w.tenantId,
        token: await rs256(w.claims({ iss })),
        credentials: ["deploy/aws-key"],
      });
      expect(r.ok).toBe(false);
    }
    let fetched = 0;
    for (const [i] of issuers.entries()) fetched += (await issuerStats(`${w.id}-x${i}`)).discoveryFetches;
    expect(fetched).toBe(20);
    const details = (await denials(w.adminToken)).map((it) => String(it.entry.details.detail));
    expect(details.filter((d) => d.startsWith("budget_exceeded"))).toHaveLength(5);
    // A minute later the budget is back.
    await stub.setClockForTest(NOW_MS + 60_000);
    const later = await stub.oidcLeases(crypto.randomUUID(), {
      tenant_id: w.tenantId,
      token: await rs256(w.claims({ iss: issuers[24], iat: NOW + 55, nbf: NOW + 55, exp: NOW + 355 })),
      credentials: ["deploy/aws-key"],
    });
    expect(later.ok).toBe(false);
    expect((await issuerStats(`${w.id}-x24`)).discoveryFetches).toBe(1);
  });
});

describe("ID tokens are single-use and short-lived (§11)", () => {
  it("a second exchange of the same token is refused as replayed and audited; a fresh token leases", async () => {
    const w = await world();
    const token = await rs256(w.claims());
    await expectStatus(await w.ask(token), 201);
    const replay = await expectStatus<ErrorBody>(await w.ask(token), 401);
    expect(replay.error.code).toBe("unauthorized");
    const audited = await denials(w.adminToken);
    expect(audited).toHaveLength(1);
    expect(String(audited[0]!.entry.details.reason)).toContain("replayed");
    expect(JSON.stringify(audited)).not.toContain(token.split(".")[2]!);
    await expectStatus(await w.ask(await rs256(w.claims())), 201);
  });

  it("the same jti re-signed with other claims is still a replay; without jti the token itself is remembered", async () => {
    const w = await world();
    const jti = crypto.randomUUID();
    await expectStatus(await w.ask(await rs256(w.claims({ jti }))), 201);
    await expectStatus(await w.ask(await rs256(w.claims({ jti, iat: NOW - 4 }))), 401);
    const noJti = await rs256(w.claims({ jti: undefined }));
    await expectStatus(await w.ask(noJti), 201);
    await expectStatus(await w.ask(noJti), 401);
    await expectStatus(await w.ask(await rs256(w.claims({ jti: undefined, iat: NOW - 4 }))), 201);
  });

  it("two concurrent exchanges of one token: exactly one leases", async () => {
    const w = await world();
    const token = await rs256(w.claims());
    const statuses = (await Promise.all([w.ask(token), w.ask(token), w.ask(token)])).map((r) => r.status).sort();
    expect(statuses).toEqual([201, 401, 401]);
  });

  it("remembered tokens are forgotten after they expire, so the table stays bounded", async () => {
    const w = await world();
    for (let i = 0; i < 5; i++) await expectStatus(await w.ask(await rs256(w.claims())), 201);
    const rows = () =>
      runInDurableObject(
        vaultStub(env, w.tenantId),
        (_o, state) => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM oidc_replays").one().n,
      );
    expect(await rows()).toBe(5);
    await vaultStub(env, w.tenantId).setClockForTest(NOW_MS + 400_000);
    await expectStatus(await w.ask(await rs256(w.claims({ iat: NOW + 395, nbf: NOW + 395, exp: NOW + 700 }))), 201);
    expect(await rows()).toBe(1);
  });

  it("refuses a token living longer than the trust's max_token_lifetime (default 1 h) as token_lifetime", async () => {
    const w = await world();
    for (const over of [{ exp: 7_258_118_400 }, { iat: NOW - 5, exp: NOW - 5 + 3601 }]) {
      const refused = await expectStatus<ErrorBody>(await w.ask(await rs256(w.claims(over))), 401);
      expect(refused.error.code).toBe("unauthorized");
    }
    const audited = await denials(w.adminToken);
    expect(audited.map((a) => String(a.entry.details.reason))).toEqual([
      expect.stringContaining("token_lifetime"),
      expect.stringContaining("token_lifetime"),
    ]);
    await expectStatus(await w.ask(await rs256(w.claims({ iat: NOW - 5, exp: NOW - 5 + 3600 }))), 201);
  });

  it("max_token_lifetime is configurable per trust and shown", async () => {
    const w = await world({ max_token_lifetime: "2h" });
    const trusts = await expectStatus<{ items: { max_token_lifetime: number }[] }>(
      await api(w.adminToken, "GET", "/v1/oidc/trusts"),
      200,
    );
    expect(trusts.items[0]!.max_token_lifetime).toBe(7200);
    await expectStatus(await w.ask(await rs256(w.claims({ exp: NOW - 5 + 7200 }))), 201);
    await expectStatus(await w.ask(await rs256(w.claims({ exp: NOW - 5 + 7201 }))), 401);
    await expectStatus(
      await api(w.adminToken, "POST", "/v1/oidc/trusts", {
        name: "too-long",
        issuer: w.issuer,
        audience: "a",
        conditions: { sub: "x" },
        identity_template: "ci:x:{sub}",
        credentials: ["*"],
        max_token_lifetime: "2d",
      }),
      400,
    );
  });
});
