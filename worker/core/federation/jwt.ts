/**
 * Verification of OIDC ID tokens from CI systems: JWS Compact Serialization (RFC 7515 §7.1)
 * carrying a JWT claim set (RFC 7519), signed with RS256 or ES256, following the JWT Best Current
 * Practices (RFC 8725).
 *
 * The JWS itself (decoding, the algorithm, key import and the signature) is checked by `jose`
 * (`compactVerify` over a `createLocalJWKSet` of the keys our policy allows); this module adds
 * what `jose` leaves open or decides differently: canonical base64url and duplicate-free JSON,
 * the RS256/ES256 allow-list, no `crit`, a required `kid`, the key policy of jwk-import.ts, and
 * the claim rules for CI tokens (`iat` required, fractional NumericDates, a lifetime bound), so
 * every refusal keeps its closed reason. Keys come from JwksCache (jwks.ts), fetched under our
 * outbound rules, never by `jose`'s `createRemoteJWKSet` (which has no URL guard on redirects,
 * size cap, negative cache or per-tenant budget).
 *
 * Order matters: structure, then the algorithm allow-list, then key selection and the signature,
 * and only then the claims, so nothing about an unauthenticated payload influences the answer
 * beyond "malformed".
 */
import { compactVerify, createLocalJWKSet, errors as joseErrors, type JSONWebKeySet } from "jose";
import { base64urlToBytes, decodeOrNull, utf8Decode } from "../crypto/encoding";
import { isAllowedAlg, keyMismatch, type AllowedAlg } from "./jwk-import";
import type { Jwk, JwkSet } from "./jwks";
import { parseStrictJsonObject } from "./strict-json";

/** Closed set of reasons a token is refused. */
export type JwtFailure =
  | "malformed"
  | "alg_not_allowed"
  | "unknown_kid"
  | "bad_signature"
  | "wrong_issuer"
  | "wrong_audience"
  | "expired"
  | "token_lifetime"
  | "not_yet_valid"
  | "issued_in_future"
  | "missing_claim";

/** The protected header of an accepted token. `typ` and other members are passed through unread. */
export interface JwtHeader {
  alg: AllowedAlg;
  kid: string;
  [member: string]: unknown;
}

/** The claim set of an accepted token; the registered claims below have been checked. */
export interface JwtClaims {
  iss: string;
  aud: string | string[];
  exp: number;
  iat: number;
  nbf?: number;
  [claim: string]: unknown;
}

/** What {@link verifyJwt} needs besides the token. */
export interface VerifyJwtOptions {
  /** The issuer's keys, parsed with `JwksSchema`; only these are ever used, never `jku`/`jwk`/`x5u`/`x5c`. */
  keys: JwkSet;
  /** Expected `iss`, compared exactly (RFC 7519 §4.1.1, StringOrURI compared case-sensitively). */
  issuer: string;
  /** This vault's audience; `aud` must be it or an array containing it (RFC 7519 §4.1.3). */
  audience: string;
  /** Current time, milliseconds since the epoch. */
  now: number;
  /** Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds: default 60, at most 300. */
  skewSeconds?: number;
  /**
   * When set, `exp - iat` may not exceed this many seconds (refused as "token_lifetime"), so `exp`
   * is never further than this plus the skew from now. A stolen token must not stay useful for long.
   */
  maxLifetimeSeconds?: number;
}

/** The verdict: the token's header and claims, or a closed reason with a message for logs. */
export type VerifyJwtResult =
  | { ok: true; header: JwtHeader; claims: JwtClaims }
  | { ok: false; reason: JwtFailure; message: string };

/** Longest token accepted; CI ID tokens are 1 to 2 KiB. Bounds parsing work on hostile input. */
export const MAX_TOKEN_LENGTH = 16 * 1024;

const refuse = (reason: JwtFailure, message: string): VerifyJwtResult => ({ ok: false, reason, message });

type Decoded = { header: Record<string, unknown>; claims: Record<string, unknown> };

function decodeSegmentJson(segment: string): Record<string, unknown> | string {
  let text: string;
  try {
    text = utf8Decode(base64urlToBytes(segment));
  } catch {
    return "not canonical base64url of UTF-8";
  }
  const parsed = parseStrictJsonObject(text);
  return parsed.ok ? parsed.value : parsed.message;
}

/** RFC 7515 §5.2 steps 1–4, strictly: three segments, canonical unpadded base64url, JSON objects. */
function decode(token: unknown): Decoded | string {
  if (typeof token !== "string") return "token is not a string";
  if (token.length > MAX_TOKEN_LENGTH) return `token longer than ${MAX_TOKEN_LENGTH} characters`;
  const parts = token.split(".");
  // Five segments would be a JWE (RFC 7516 §7.1); this verifier only takes signed tokens.
  if (parts.length !== 3) return `expected 3 dot-separated segments, got ${parts.length}`;
  const [h, p, s] = parts as [string, string, string];
  const header = decodeSegmentJson(h);
  if (typeof header === "string") return `header: ${header}`;
  const claims = decodeSegmentJson(p);
  if (typeof claims === "string") return `payload: ${claims}`;
  // `jose` decodes the signature itself, leniently; an alias of a valid one is refused here.
  if (decodeOrNull(base64urlToBytes, s) === null) return "signature: not canonical base64url";
  return { header, claims };
}

/** A NumericDate (RFC 7519 §2): a finite JSON number of seconds, fractions allowed. */
function numericDate(claims: Record<string, unknown>, name: string): number | null | "invalid" {
  if (!Object.hasOwn(claims, name)) return null;
  const v = claims[name];
  return typeof v === "number" && Number.isFinite(v) ? v : "invalid";
}

/** The refusal the registered claims earn, or null when they are acceptable. */
function checkClaims(claims: Record<string, unknown>, opts: VerifyJwtOptions, skew: number): VerifyJwtResult | null {
  const { iss, aud } = claims;
  if (!Object.hasOwn(claims, "iss")) return refuse("missing_claim", "iss is missing");
  if (typeof iss !== "string") return refuse("malformed", "iss is not a string");
  if (iss !== opts.issuer) return refuse("wrong_issuer", `iss ${JSON.stringify(iss)} is not the trusted issuer`);

  if (!Object.hasOwn(claims, "aud")) return refuse("missing_claim", "aud is missing");
  const audiences = typeof aud === "string" ? [aud] : aud;
  if (!Array.isArray(audiences) || !audiences.every((a) => typeof a === "string")) {
    return refuse("malformed", "aud is neither a string nor an array of strings");
  }
  if (!audiences.includes(opts.audience))
    return refuse("wrong_audience", `aud does not include ${JSON.stringify(opts.audience)}`);

  const exp = numericDate(claims, "exp");
  const iat = numericDate(claims, "iat");
  const nbf = numericDate(claims, "nbf");
  // exp bounds the token's life and iat its age; CI issuers always send both, so both are required.
  if (exp === null) return refuse("missing_claim", "exp is missing");
  if (iat === null) return refuse("missing_claim", "iat is missing");
  if (exp === "invalid" || iat === "invalid" || nbf === "invalid")
    return refuse("malformed", "exp, iat or nbf is not a NumericDate");

  const nowSeconds = opts.now / 1000;
  // RFC 7519 §4.1.4: the current time MUST be before exp; "some small leeway" is allowed.
  if (nowSeconds >= exp + skew) return refuse("expired", `expired at ${exp}, now ${Math.floor(nowSeconds)}`);
  // RFC 7519 §4.1.5: the current time MUST be after or equal to nbf.
  if (nbf !== null && nowSeconds < nbf - skew)
    return refuse("not_yet_valid", `not valid before ${nbf}, now ${Math.floor(nowSeconds)}`);
  // RFC 7519 §4.1.6 only defines iat; a token issued in the future means a broken or hostile clock.
  if (iat > nowSeconds + skew) return refuse("issued_in_future", `issued at ${iat}, now ${Math.floor(nowSeconds)}`);
  // With iat required and not in the future, this also bounds exp - now by max + skew: a token
  // cannot claim a short life by lying about iat without being refused as issued_in_future.
  if (opts.maxLifetimeSeconds !== undefined && exp - iat > opts.maxLifetimeSeconds) {
    return refuse("token_lifetime", `lifetime ${exp - iat} s exceeds the allowed ${opts.maxLifetimeSeconds} s`);
  }
  return null;
}

function optionsProblem(opts: VerifyJwtOptions): string | null {
  const skew = opts.skewSeconds ?? 60;
  if (!Number.isFinite(opts.now)) return "now is not a finite number";
  if (!(skew >= 0 && skew <= 300)) return "skewSeconds must be in [0, 300]";
  if (opts.maxLifetimeSeconds !== undefined && !(opts.maxLifetimeSeconds > 0))
    return "maxLifetimeSeconds must be positive";
  if (opts.issuer === "" || opts.audience === "") return "issuer and audience must be non-empty";
  return null;
}

async function verifyUnsafe(token: unknown, opts: VerifyJwtOptions): Promise<VerifyJwtResult> {
  const problem = optionsProblem(opts);
  // A misconfigured verifier fails closed; the message says it is the configuration, not the token.
  if (problem !== null) return refuse("malformed", `verifier options invalid: ${problem}`);

  const decoded = decode(token);
  if (typeof decoded === "string") return refuse("malformed", decoded);
  const { header, claims } = decoded;

  // RFC 8725 §3.1 / §2.1: an allow-list, checked before any key is touched. This refuses "none"
  // and every HS* (the RSA-public-key-as-HMAC-secret confusion), as well as RS384, PS256, ...
  if (!Object.hasOwn(header, "alg") || typeof header.alg !== "string")
    return refuse("malformed", "header alg is missing");
  if (!isAllowedAlg(header.alg))
    return refuse("alg_not_allowed", `alg ${JSON.stringify(header.alg)} is not RS256 or ES256`);
  const alg = header.alg;
  // RFC 7515 §4.1.11: extensions listed in crit MUST be understood; this verifier understands none.
  if (Object.hasOwn(header, "crit")) return refuse("malformed", "crit header is not supported");
  if (typeof header.kid !== "string" || header.kid === "") return refuse("malformed", "header kid is missing");
  const kid = header.kid;

  // Keys come only from the configured JWKS; header jku/jwk/x5u/x5c are never read (RFC 8725 §3.10).
  const candidates = opts.keys.keys.filter((k) => k.kid === kid);
  if (candidates.length === 0) return refuse("unknown_kid", `no key with kid ${JSON.stringify(kid)}`);
  const usable = candidates.filter((k) => keyMismatch(k, alg) === null);
  if (usable.length === 0) return refuse("alg_not_allowed", keyMismatch(candidates[0]!, alg) ?? "key unusable");

  if (!(await signatureVerifies(token as string, usable, alg))) {
    return refuse("bad_signature", `signature does not verify under kid ${JSON.stringify(kid)}`);
  }

  const refusal = checkClaims(claims, opts, opts.skewSeconds ?? 60);
  if (refusal !== null) return refusal;
  return { ok: true, header: header as JwtHeader, claims: claims as JwtClaims };
}

/**
 * True when `token`'s signature verifies under one of `keys` (all for `alg`, already accepted by
 * keyMismatch) by `jose`. Several keys may share a kid during a careless rotation; each is the
 * issuer's, so any may sign: `jose` reports that as JWKSMultipleMatchingKeys, which iterates them.
 * A key WebCrypto refuses to import (a point not on the curve) is simply not one that verifies.
 */
async function signatureVerifies(token: string, keys: readonly Jwk[], alg: AllowedAlg): Promise<boolean> {
  const options = { algorithms: [alg] };
  try {
    await compactVerify(token, createLocalJWKSet({ keys } as JSONWebKeySet), options);
    return true;
  } catch (err) {
    if (!(err instanceof joseErrors.JWKSMultipleMatchingKeys)) return false;
    for await (const key of err) {
      if (
        await compactVerify(token, key, options).then(
          () => true,
          () => false,
        )
      )
        return true;
    }
    return false;
  }
}

/**
 * Verifies a compact JWS/JWT against a pinned or fetched JWKS and the expected issuer and audience.
 *
 * On `unknown_kid` the caller may refresh the JWKS once ({@link JwksCache.refreshForUnknownKid})
 * and verify again. Duplicate JSON member names in header or payload are refused as `malformed`
 * (RFC 7515 §4, RFC 7519 §4 permit either refusing or last-wins; we refuse). `typ` is ignored;
 * `crit` is refused. `exp` and `iat` are required. Never throws, whatever `token` is.
 */
export async function verifyJwt(token: string, opts: VerifyJwtOptions): Promise<VerifyJwtResult> {
  try {
    return await verifyUnsafe(token, opts);
  } catch (err) {
    // Nothing above should throw; if something does, refuse rather than propagate.
    return refuse("malformed", `verification error: ${err instanceof Error ? err.message : String(err)}`);
  }
}
