/**
 * verifyJwt: registered claims (RFC 7519 §4.1) on correctly signed tokens, each refusal beside a
 * positive control. Default skew is 60 s; the fixtures' "now" is NOW.
 */
import { describe, expect, it } from "vitest";
import { verifyJwt } from "../../../worker/core/federation/jwt";
import {
  AUDIENCE,
  ISSUER,
  NOW,
  NOW_MS,
  es256,
  expectAccepted,
  expectRefused,
  githubClaims,
  opts,
  rs256,
  signToken,
  RSA,
} from "./jwt-fixtures";

describe("issuer and audience", () => {
  it("refuses a different or differently spelled issuer", async () => {
    for (const iss of [
      "https://gitlab.com",
      `${ISSUER}/`,
      ISSUER.toUpperCase(),
      "http://token.actions.githubusercontent.com",
    ]) {
      await expectRefused(await rs256({ iss }), "wrong_issuer");
    }
    await expectAccepted(await rs256({ iss: ISSUER }));
  });

  it("refuses a token trusted for another issuer's policy", async () => {
    const token = await es256();
    await expectRefused(token, "wrong_issuer", opts({ issuer: "https://gitlab.com" }));
    await expectAccepted(token, opts({ issuer: ISSUER }));
  });

  it("refuses an audience that is not ours, as a string or an array", async () => {
    await expectRefused(await rs256({ aud: "https://github.com/acme" }), "wrong_audience");
    await expectRefused(await rs256({ aud: ["https://other.example", `${AUDIENCE}/`] }), "wrong_audience");
    await expectRefused(await rs256({ aud: [] }), "wrong_audience");
    await expectAccepted(await rs256({ aud: AUDIENCE }));
    await expectAccepted(await rs256({ aud: ["https://other.example", AUDIENCE] }));
  });

  it("refuses iss or aud of the wrong type as malformed", async () => {
    await expectRefused(await rs256({ iss: [ISSUER] }), "malformed");
    await expectRefused(await rs256({ aud: [AUDIENCE, 1] }), "malformed");
    await expectRefused(await rs256({ aud: { aud: AUDIENCE } }), "malformed");
  });
});

describe("exp, nbf, iat with skew", () => {
  it("refuses a token expired beyond the skew and accepts one expired within it", async () => {
    await expectRefused(await rs256({ iat: NOW - 400, nbf: NOW - 400, exp: NOW - 61 }), "expired");
    await expectRefused(await rs256({ iat: NOW - 400, nbf: NOW - 400, exp: NOW - 60 }), "expired");
    await expectAccepted(await rs256({ iat: NOW - 400, nbf: NOW - 400, exp: NOW - 59 }));
    await expectAccepted(await rs256({ iat: NOW - 400, nbf: NOW - 400, exp: NOW - 30 }));
  });

  it("with zero skew, expires exactly at exp (RFC 7519 §4.1.4: now must be before exp)", async () => {
    const atExp = await rs256({ exp: NOW });
    await expectRefused(atExp, "expired", opts({ skewSeconds: 0 }));
    await expectAccepted(atExp, opts({ skewSeconds: 0, now: NOW_MS - 1 }));
  });

  it("refuses nbf beyond the skew in the future and accepts one within it", async () => {
    await expectRefused(await rs256({ nbf: NOW + 120 }), "not_yet_valid");
    await expectRefused(await rs256({ nbf: NOW + 61 }), "not_yet_valid");
    await expectAccepted(await rs256({ nbf: NOW + 60 }));
    await expectAccepted(await rs256({ nbf: NOW + 30 }));
  });

  it("refuses iat beyond the skew in the future and accepts one within it", async () => {
    await expectRefused(await es256({ iat: NOW + 120, nbf: NOW }), "issued_in_future");
    await expectRefused(await es256({ iat: NOW + 60.5, nbf: NOW }), "issued_in_future");
    await expectAccepted(await es256({ iat: NOW + 60, nbf: NOW }));
    await expectAccepted(await es256({ iat: NOW + 30, nbf: NOW }));
  });

  it("treats nbf as optional", async () => {
    await expectAccepted(await rs256({ nbf: undefined }));
  });

  it("refuses a lifetime longer than maxLifetimeSeconds as token_lifetime", async () => {
    const token = await rs256({ iat: NOW - 10, exp: NOW + 3590 });
    await expectRefused(token, "token_lifetime", opts({ maxLifetimeSeconds: 600 }));
    await expectAccepted(token, opts({ maxLifetimeSeconds: 3600 }));
    await expectAccepted(token);
  });

  it("refuses an exp further than maxLifetimeSeconds from now, whatever iat claims", async () => {
    // A token from the year 2200 that claims a short life by lying about iat.
    const lying = await rs256({ iat: 7_258_118_400 - 300, nbf: NOW - 5, exp: 7_258_118_400 });
    await expectRefused(lying, "issued_in_future", opts({ maxLifetimeSeconds: 3600 }));
    await expectRefused(
      await rs256({ iat: NOW - 5, exp: 7_258_118_400 }),
      "token_lifetime",
      opts({ maxLifetimeSeconds: 3600 }),
    );
    // iat at the edge of the skew cannot stretch exp beyond max + skew from now.
    await expectRefused(
      await rs256({ iat: NOW + 60, exp: NOW + 3600 + 61 }),
      "token_lifetime",
      opts({ maxLifetimeSeconds: 3600 }),
    );
    await expectAccepted(await rs256({ iat: NOW + 60, exp: NOW + 3600 + 60 }), opts({ maxLifetimeSeconds: 3600 }));
  });

  it("refuses non-numeric dates as malformed", async () => {
    await expectRefused(await rs256({ exp: String(NOW + 300) }), "malformed");
    await expectRefused(await rs256({ nbf: null }), "malformed");
    await expectRefused(await rs256({ iat: true }), "malformed");
  });
});

describe("missing_claim", () => {
  it.for(["iss", "aud", "exp", "iat"])("refuses a token without %s", async (name) => {
    const claims = githubClaims();
    delete claims[name];
    await expectRefused(await signToken("RS256", RSA.privateKey, { kid: "rsa-1" }, claims), "missing_claim");
    await expectAccepted(await signToken("RS256", RSA.privateKey, { kid: "rsa-1" }, githubClaims()));
  });
});

describe("claims are checked only after the signature", () => {
  it("reports bad_signature, not expired, for a forged expired token", async () => {
    const [h, , s] = (await rs256()).split(".");
    const forgedPayload = btoa(JSON.stringify(githubClaims({ exp: NOW - 3600 })))
      .replace(/=+$/, "")
      .replace(/\+/g, "-")
      .replace(/\//g, "_");
    const r = await verifyJwt(`${h}.${forgedPayload}.${s}`, opts());
    expect(r.ok ? "accepted" : r.reason).toBe("bad_signature");
  });
});

describe("verifier options", () => {
  it("fails closed on invalid options", async () => {
    const token = await rs256();
    await expectRefused(token, "malformed", opts({ now: Number.NaN }));
    await expectRefused(token, "malformed", opts({ skewSeconds: -1 }));
    await expectRefused(token, "malformed", opts({ skewSeconds: 3600 }));
    await expectRefused(token, "malformed", opts({ audience: "" }));
    await expectAccepted(token, opts({ skewSeconds: 300 }));
  });
});
