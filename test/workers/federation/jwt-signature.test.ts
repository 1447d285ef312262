/**
 * verifyJwt: structure, algorithm allow-list, key selection and signatures. Every refusal sits
 * next to a positive control built from the same fixture.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bytesToBase64, bytesToBase64url, utf8Encode } from "../../../worker/core/crypto/encoding";
import { verifyJwt } from "../../../worker/core/federation/jwt";
import {
  ATTACKER_EC,
  ATTACKER_RSA,
  EC,
  JWKS_DOC,
  RSA,
  RSA_1024,
  es256,
  expectAccepted,
  expectRefused,
  githubClaims,
  jsonSegment,
  jwksOf,
  opts,
  publicJwk,
  rs256,
  segment,
  signInput,
  signToken,
} from "./jwt-fixtures";

const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

describe("valid tokens", () => {
  it("accepts RS256 and returns header and claims", async () => {
    const r = await verifyJwt(await rs256(), opts());
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.header).toMatchObject({ alg: "RS256", kid: "rsa-1", typ: "JWT" });
    expect(r.claims).toMatchObject({ repository: "acme/api", sub: "repo:acme/api:ref:refs/heads/main" });
  });

  it("accepts ES256 (raw 64-byte R || S signature)", async () => {
    const token = await es256();
    expect(Array.from(token.split(".")[2]!).length).toBe(86); // 64 bytes in unpadded base64url
    await expectAccepted(token);
  });

  it("two keys under one kid (a careless rotation): a token signed by either verifies, one signed by neither does not", async () => {
    const keys = jwksOf(
      await publicJwk(ATTACKER_RSA, "rsa-1", { alg: "RS256" }),
      await publicJwk(RSA, "rsa-1", { alg: "RS256" }),
    );
    // Control: the second key of the two signs; then the first; then a key in neither.
    await expectAccepted(await rs256(), opts({ keys }));
    await expectAccepted(
      await signToken("RS256", ATTACKER_RSA.privateKey, { kid: "rsa-1" }, githubClaims()),
      opts({ keys }),
    );
    const other = jwksOf(
      await publicJwk(ATTACKER_RSA, "rsa-1", { alg: "RS256" }),
      await publicJwk(ATTACKER_EC, "rsa-1"),
    );
    await expectRefused(await rs256(), "bad_signature", opts({ keys: other }));
  });
});

describe("alg_not_allowed", () => {
  it('refuses alg "none" with an empty signature', async () => {
    const unsigned = `${jsonSegment({ alg: "none", kid: "rsa-1" })}.${jsonSegment(githubClaims())}.`;
    await expectRefused(unsigned, "alg_not_allowed");
    await expectAccepted(await rs256());
  });

  it("refuses HS256 keyed with the RSA public key bytes (key confusion, RFC 8725 §2.1)", async () => {
    const spki = new Uint8Array((await crypto.subtle.exportKey("spki", RSA.publicKey)) as ArrayBuffer);
    const pem = `-----BEGIN PUBLIC KEY-----\n${bytesToBase64(spki).replace(/.{64}/g, "$&\n")}\n-----END PUBLIC KEY-----\n`;
    const jwkText = utf8Encode(JSON.stringify(JWKS_DOC.keys[0]));
    // The public key as DER, as PEM text (the classic attack) and as its JWK JSON.
    for (const secret of [spki, utf8Encode(pem), jwkText]) {
      const hmac = await crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-256" }, false, [
        "sign",
        "verify",
      ]);
      const input = `${jsonSegment({ alg: "HS256", typ: "JWT", kid: "rsa-1" })}.${jsonSegment(githubClaims())}`;
      const mac = new Uint8Array(await crypto.subtle.sign("HMAC", hmac, utf8Encode(input)));
      // The forged token really is a valid HS256 token under that "secret"...
      expect(await crypto.subtle.verify("HMAC", hmac, mac, utf8Encode(input))).toBe(true);
      // ...and is still refused, before any key is used.
      await expectRefused(`${input}.${bytesToBase64url(mac)}`, "alg_not_allowed");
    }
    await expectAccepted(await rs256());
  });

  it.for(["RS384", "RS512", "PS256", "ES384", "ES256K", "EdDSA", "rs256", "Rs256", "HS512"])(
    "refuses alg %s",
    async (alg) => {
      const input = `${jsonSegment({ alg, kid: "rsa-1" })}.${jsonSegment(githubClaims())}`;
      await expectRefused(`${input}.${await signInput(RSA.privateKey, "RS256", input)}`, "alg_not_allowed");
    },
  );

  it("refuses a key whose type does not fit the header alg", async () => {
    // ES256 header naming the RSA key, and RS256 header naming the EC key.
    await expectRefused(await signToken("ES256", EC.privateKey, { kid: "rsa-1" }, githubClaims()), "alg_not_allowed");
    await expectRefused(await signToken("RS256", RSA.privateKey, { kid: "ec-1" }, githubClaims()), "alg_not_allowed");
    await expectAccepted(await signToken("ES256", EC.privateKey, { kid: "ec-1" }, githubClaims()));
    await expectAccepted(await signToken("RS256", RSA.privateKey, { kid: "rsa-1" }, githubClaims()));
  });

  it("refuses a key whose alg, use, key_ops or crv disagree, and one under 2048 bits", async () => {
    const token = await rs256();
    const cases: [Record<string, unknown>, string][] = [
      [{ alg: "RS384" }, "alg_not_allowed"],
      [{ use: "enc" }, "alg_not_allowed"],
      [{ key_ops: ["encrypt"] }, "alg_not_allowed"],
    ];
    for (const [extra, reason] of cases) {
      await expectRefused(
        token,
        reason as "alg_not_allowed",
        opts({ keys: jwksOf(await publicJwk(RSA, "rsa-1", extra)) }),
      );
    }
    await expectAccepted(token, opts({ keys: jwksOf(await publicJwk(RSA, "rsa-1", { key_ops: ["verify"] })) }));
    await expectAccepted(token, opts({ keys: jwksOf(await publicJwk(RSA, "rsa-1", { use: undefined })) }));

    const ecToken = await es256();
    const ecJwk = await publicJwk(EC, "ec-1");
    await expectRefused(ecToken, "alg_not_allowed", opts({ keys: jwksOf({ ...ecJwk, crv: "P-384" }) }));
    await expectAccepted(ecToken, opts({ keys: jwksOf(ecJwk) }));

    const small = await signToken("RS256", RSA_1024.privateKey, { kid: "small" }, githubClaims());
    await expectRefused(small, "alg_not_allowed", opts({ keys: jwksOf(await publicJwk(RSA_1024, "small")) }));
  });
});

describe("unknown_kid", () => {
  it("refuses a kid the JWKS lacks", async () => {
    await expectRefused(await signToken("RS256", RSA.privateKey, { kid: "rsa-2" }, githubClaims()), "unknown_kid");
    await expectAccepted(await signToken("RS256", RSA.privateKey, { kid: "rsa-1" }, githubClaims()));
  });

  it("ignores a published private key (JWKS with d), so its kid is unknown", async () => {
    const priv = (await crypto.subtle.exportKey("jwk", RSA.privateKey)) as JsonWebKey;
    const token = await rs256();
    await expectRefused(token, "unknown_kid", opts({ keys: jwksOf({ ...priv, kid: "rsa-1" }) }));
    await expectAccepted(token, opts({ keys: jwksOf(await publicJwk(RSA, "rsa-1")) }));
  });
});

describe("bad_signature", () => {
  it("refuses a payload changed after signing", async () => {
    const [h, , s] = (await rs256()).split(".");
    const forged = `${h}.${jsonSegment(githubClaims({ repository: "acme/secrets" }))}.${s}`;
    await expectRefused(forged, "bad_signature");
    const [eh, , es] = (await es256()).split(".");
    await expectRefused(`${eh}.${jsonSegment(githubClaims({ ref: "refs/heads/evil" }))}.${es}`, "bad_signature");
    await expectAccepted(`${h}.${jsonSegment(githubClaims())}.${s}`);
  });

  it("refuses a token signed by another key under a trusted kid", async () => {
    await expectRefused(
      await signToken("RS256", ATTACKER_RSA.privateKey, { kid: "rsa-1" }, githubClaims()),
      "bad_signature",
    );
    await expectRefused(
      await signToken("ES256", ATTACKER_EC.privateKey, { kid: "ec-1" }, githubClaims()),
      "bad_signature",
    );
  });

  it("refuses a flipped signature bit and a non-64-byte ES256 signature", async () => {
    const [h, p, s] = (await es256()).split(".") as [string, string, string];
    const flipped = s.startsWith("A") ? `B${s.slice(1)}` : `A${s.slice(1)}`;
    await expectRefused(`${h}.${p}.${flipped}`, "bad_signature");
    await expectRefused(`${h}.${p}.${bytesToBase64url(new Uint8Array(72))}`, "bad_signature");
    await expectAccepted(`${h}.${p}.${s}`);
  });
});

describe("malformed", () => {
  it("refuses wrong segment counts and non-canonical base64url", async () => {
    const token = await rs256();
    const [h, p, s] = token.split(".") as [string, string, string];
    const bad = [
      "",
      `${h}.${p}`,
      `${h}.${p}.${s}.x`,
      `${h}.${p}.${s}.x.y`,
      `${h}=.${p}.${s}`,
      `${h}.${p}.${s}=`,
      `${h.slice(0, 4)}+${h.slice(5)}.${p}.${s}`, // standard-alphabet character
      `${h}.${p.slice(0, 4)}/${p.slice(5)}.${s}`,
      ` ${token}`,
      `${h}.${p}.${s}\n`,
    ];
    for (const t of bad) await expectRefused(t, "malformed");
    await expectAccepted(token);
  });

  it("refuses a signature with non-zero pad bits (an alias of the canonical encoding)", async () => {
    const token = await rs256();
    const [h, p, s] = token.split(".") as [string, string, string];
    // 256 signature bytes = 85 groups of 3 + 1 byte: the last of 342 characters carries 4 pad bits.
    expect(s.length).toBe(342);
    const alias = s.slice(0, -1) + B64URL[B64URL.indexOf(s.at(-1)!) | 1];
    await expectRefused(`${h}.${p}.${alias}`, "malformed");
    await expectAccepted(token);
  });

  it("refuses non-JSON, non-object and duplicate-member headers and payloads", async () => {
    const claims = JSON.stringify(githubClaims());
    const signed = async (h: string, p: string) => `${h}.${p}.${await signInput(RSA.privateKey, "RS256", `${h}.${p}`)}`;
    const goodHeader = segment('{"alg":"RS256","kid":"rsa-1"}');
    for (const [h, p] of [
      [segment("not json"), segment(claims)],
      [segment('["RS256"]'), segment(claims)],
      [goodHeader, segment("null")],
      [goodHeader, segment("[1]")],
      [segment('{"alg":"RS256","kid":"rsa-1","alg":"RS256"}'), segment(claims)],
      [
        goodHeader,
        segment(claims.replace('"repository":"acme/api"', '"repository":"acme/api","repository":"acme/other"')),
      ],
      [goodHeader, segment(claims.replace('"ref":', '"\\u0072ef":"x","ref":'))],
      [bytesToBase64url(new Uint8Array([0x7b, 0xff, 0x7d])), segment(claims)],
    ] as const) {
      await expectRefused(await signed(h, p), "malformed");
    }
    await expectAccepted(await signed(goodHeader, segment(claims)));
  });

  it("refuses crit, a missing alg and a missing or non-string kid", async () => {
    const c = githubClaims();
    await expectRefused(
      await signToken("RS256", RSA.privateKey, { kid: "rsa-1", crit: ["exp"], exp: 1 }, c),
      "malformed",
    );
    await expectRefused(await signToken("RS256", RSA.privateKey, {}, c), "malformed");
    await expectRefused(await signToken("RS256", RSA.privateKey, { kid: 1 }, c), "malformed");
    const noAlg = `${jsonSegment({ kid: "rsa-1" })}.${jsonSegment(c)}`;
    await expectRefused(`${noAlg}.${await signInput(RSA.privateKey, "RS256", noAlg)}`, "malformed");
    // typ is ignored, whatever it says.
    await expectAccepted(await signToken("RS256", RSA.privateKey, { kid: "rsa-1", typ: "at+jwt" }, c));
  });

  it("refuses an over-long token", async () => {
    await expectRefused(await rs256({ padding: "x".repeat(20_000) }), "malformed");
    await expectAccepted(await rs256({ padding: "x".repeat(1_000) }));
  });
});

describe("never throws", () => {
  it("on arbitrary strings and values", async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string(), fc.anything()), async (input) => {
        const r = await verifyJwt(input as string, opts());
        expect(r.ok).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it("on arbitrary JSON in well-formed segments", async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), fc.jsonValue(), fc.uint8Array({ maxLength: 80 }), async (h, p, s) => {
        const r = await verifyJwt(`${jsonSegment(h)}.${jsonSegment(p)}.${bytesToBase64url(s)}`, opts());
        expect(r.ok).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});
