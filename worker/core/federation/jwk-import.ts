/**
 * Which JWKs of an issuer's JWKS may verify a JWS with a given algorithm (RFC 8725 §3.1: the key
 * decides which algorithm may be used with it, the token header only has to agree). `jose`
 * (jwt.ts) then imports the accepted keys and checks the signature.
 */
import { base64urlToBytes } from "../crypto/encoding";
import type { Jwk } from "./jwks";

/** The JWS algorithms this verifier accepts (RFC 7518 §3.1); everything else is refused. */
export const ALLOWED_ALGS = ["RS256", "ES256"] as const;

/** One of {@link ALLOWED_ALGS}. */
export type AllowedAlg = (typeof ALLOWED_ALGS)[number];

/** RFC 7518 §3.3: "A key of size 2048 bits or larger MUST be used"; the upper bound caps CPU cost. */
export const RSA_MIN_BITS = 2048;
/** Largest RSA modulus accepted. */
export const RSA_MAX_BITS = 8192;

/** True when `alg` is exactly one of {@link ALLOWED_ALGS} (case-sensitive, RFC 7515 §4.1.1). */
export function isAllowedAlg(alg: unknown): alg is AllowedAlg {
  return alg === "RS256" || alg === "ES256";
}

function decodedLength(b64u: string | undefined): number | null {
  if (b64u === undefined) return null;
  try {
    return base64urlToBytes(b64u).length;
  } catch {
    return null;
  }
}

function modulusBits(n: string): number | null {
  try {
    const bytes = base64urlToBytes(n);
    // RFC 7518 §6.3.1.1: the modulus uses the minimum number of octets, so no leading zero.
    if (bytes.length === 0 || bytes[0] === 0) return null;
    return bytes.length * 8 - (Math.clz32(bytes[0]!) - 24);
  } catch {
    return null;
  }
}

/**
 * Why `jwk` may not verify a JWS with `alg`, or null when it may:
 * RFC 7517 §4.4 (`alg`, when present, must equal the header's), §4.2 (`use` must be `sig`),
 * §4.3 (`key_ops` must include `verify`), RFC 7518 §6.2/§6.3 (`kty`, `crv`, coordinate and
 * modulus sizes) and §3.3/§3.4 (RS256 needs RSA of at least 2048 bits, ES256 needs EC P-256).
 */
export function keyMismatch(jwk: Jwk, alg: AllowedAlg): string | null {
  const name = jwk.kid === undefined ? "key" : `key ${JSON.stringify(jwk.kid)}`;
  if (jwk.alg !== undefined && jwk.alg !== alg) return `${name} is for ${jwk.alg}, not ${alg}`;
  if (jwk.use !== undefined && jwk.use !== "sig") return `${name} has use ${JSON.stringify(jwk.use)}, not "sig"`;
  if (jwk.key_ops !== undefined && !jwk.key_ops.includes("verify")) return `${name} key_ops lack "verify"`;
  if (alg === "RS256") {
    if (jwk.kty !== "RSA") return `${name} has kty ${JSON.stringify(jwk.kty)}; RS256 needs RSA`;
    if (jwk.n === undefined || jwk.e === undefined) return `${name} lacks n or e`;
    const bits = modulusBits(jwk.n);
    if (bits === null) return `${name} has a malformed modulus`;
    if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) {
      return `${name} is RSA-${bits}; RS256 needs ${RSA_MIN_BITS} to ${RSA_MAX_BITS} bits`;
    }
    return null;
  }
  if (jwk.kty !== "EC") return `${name} has kty ${JSON.stringify(jwk.kty)}; ES256 needs EC`;
  if (jwk.crv !== "P-256") return `${name} has crv ${JSON.stringify(jwk.crv)}; ES256 needs P-256`;
  // RFC 7518 §6.2.1.2/§6.2.1.3: P-256 coordinates are exactly 32 octets, leading zeros kept.
  if (decodedLength(jwk.x) !== 32 || decodedLength(jwk.y) !== 32) return `${name} has malformed x or y`;
  return null;
}
