/**
 * Keys, JWKS and token signing for the federation tests. Keys are generated here with WebCrypto
 * (RSA-2048 and EC P-256) and never change after module load; each test builds its own tokens.
 */
import { expect } from "vitest";
import { bytesToBase64url, utf8Encode } from "../../../worker/core/crypto/encoding";
import { JwksSchema, type JwkSet } from "../../../worker/core/federation/jwks";
import { verifyJwt, type JwtFailure, type VerifyJwtOptions } from "../../../worker/core/federation/jwt";

/** A fixed "now": 2025-10-09T08:53:20Z, in ms. */
export const NOW_MS = 1_760_000_000_000;
/** {@link NOW_MS} in seconds. */
export const NOW = NOW_MS / 1000;
/** GitHub Actions' issuer, the one the fixtures trust. */
export const ISSUER = "https://token.actions.githubusercontent.com";
/** This vault's audience. */
export const AUDIENCE = "https://vault.example.com";

async function rsaPair(bits: number): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey(
    { name: "RSASSA-PKCS1-v1_5", modulusLength: bits, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
    true,
    ["sign", "verify"],
  )) as CryptoKeyPair;
}

async function ecPair(): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
}

/** The issuer's RSA-2048 key pair ("rsa-1"). */
export const RSA = await rsaPair(2048);
/** The issuer's P-256 key pair ("ec-1"). */
export const EC = await ecPair();
/** Not in any JWKS: an attacker's RSA key pair. */
export const ATTACKER_RSA = await rsaPair(2048);
/** Not in any JWKS: an attacker's P-256 key pair. */
export const ATTACKER_EC = await ecPair();
/** Too small for RS256 (RFC 7518 §3.3). */
export const RSA_1024 = await rsaPair(1024);

/** The public JWK of `pair` with `kid` and any extra members (as issuers publish them). */
export async function publicJwk(
  pair: CryptoKeyPair,
  kid: string,
  extra: Record<string, unknown> = {},
): Promise<Record<string, unknown>> {
  const { kty, n, e, crv, x, y } = (await crypto.subtle.exportKey("jwk", pair.publicKey)) as JsonWebKey;
  const base = kty === "RSA" ? { kty, n, e } : { kty, crv, x, y };
  return { ...base, kid, use: "sig", ...extra };
}

/** The issuer's JWKS: an RSA key ("rsa-1", alg RS256) and an EC key ("ec-1", alg ES256). */
export const JWKS_DOC = {
  keys: [await publicJwk(RSA, "rsa-1", { alg: "RS256" }), await publicJwk(EC, "ec-1", { alg: "ES256" })],
};
/** {@link JWKS_DOC} through the schema. */
export const JWKS: JwkSet = JwksSchema.parse(JWKS_DOC);

/** A JWKS built from raw JWK objects, through the schema as the cache would. */
export function jwksOf(...keys: Record<string, unknown>[]): JwkSet {
  return JwksSchema.parse({ keys });
}

/** base64url of the UTF-8 JSON text `json` (given as text so tests can write duplicates). */
export const segment = (json: string): string => bytesToBase64url(utf8Encode(json));
/** base64url of JSON.stringify(value). */
export const jsonSegment = (value: unknown): string => segment(JSON.stringify(value));

/** JWS signature over `signingInput` with RS256 or ES256 (raw R || S, RFC 7518 §3.4). */
export async function signInput(key: CryptoKey, alg: "RS256" | "ES256", signingInput: string): Promise<string> {
  const params = alg === "RS256" ? { name: "RSASSA-PKCS1-v1_5" } : { name: "ECDSA", hash: "SHA-256" };
  return bytesToBase64url(new Uint8Array(await crypto.subtle.sign(params, key, utf8Encode(signingInput))));
}

/** Claims shaped like a GitHub Actions ID token, valid at {@link NOW}. */
export function githubClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    jti: "6f1c1f2e-0000-4000-8000-000000000001",
    sub: "repo:acme/api:ref:refs/heads/main",
    aud: AUDIENCE,
    ref: "refs/heads/main",
    sha: "9f1c1d5e0a1b2c3d4e5f60718293a4b5c6d7e8f9",
    repository: "acme/api",
    repository_owner: "acme",
    run_id: "9876543210",
    workflow: "deploy",
    actor: "octocat",
    iss: ISSUER,
    nbf: NOW - 10,
    iat: NOW - 10,
    exp: NOW + 290,
    ...overrides,
  };
}

/** A token signed by `key` with header `{alg, kid, typ: "JWT", ...header}` and `claims`. */
export async function signToken(
  alg: "RS256" | "ES256",
  key: CryptoKey,
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
): Promise<string> {
  const input = `${jsonSegment({ alg, typ: "JWT", ...header })}.${jsonSegment(claims)}`;
  return `${input}.${await signInput(key, alg, input)}`;
}

/** A valid RS256 token under "rsa-1" with claims overridden. */
export const rs256 = (overrides: Record<string, unknown> = {}): Promise<string> =>
  signToken("RS256", RSA.privateKey, { kid: "rsa-1" }, githubClaims(overrides));

/** A valid ES256 token under "ec-1" with claims overridden. */
export const es256 = (overrides: Record<string, unknown> = {}): Promise<string> =>
  signToken("ES256", EC.privateKey, { kid: "ec-1" }, githubClaims(overrides));

/** Options for verifying against {@link JWKS} at {@link NOW_MS}, with overrides. */
export function opts(overrides: Partial<VerifyJwtOptions> = {}): VerifyJwtOptions {
  return { keys: JWKS, issuer: ISSUER, audience: AUDIENCE, now: NOW_MS, ...overrides };
}

/** Asserts `token` is accepted. */
export async function expectAccepted(token: string, options: VerifyJwtOptions = opts()): Promise<void> {
  const r = await verifyJwt(token, options);
  expect(r.ok ? "accepted" : `${r.reason}: ${r.message}`).toBe("accepted");
}

/** Asserts `token` is refused with `reason`. */
export async function expectRefused(
  token: string,
  reason: JwtFailure,
  options: VerifyJwtOptions = opts(),
): Promise<void> {
  const r = await verifyJwt(token, options);
  expect(r.ok ? "accepted" : r.reason).toBe(reason);
}
