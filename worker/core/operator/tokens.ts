import { digestsEqual, hashToken } from "../auth/tokens";
import { sha256Hex } from "../crypto/sha256";
import { newTokenSecret } from "../ids";

/**
 * Operator tokens (issue 13 §3). They live in their own namespace, `gvop_…`, which the tenant
 * token grammar (`gv_<kind>_<tenant>_<secret>`) never parses, and the reverse: a tenant token is
 * never an operator token. Two kinds:
 * - the root token `gvop_root_<64 hex>`: chosen by whoever deploys the vault; only its SHA-256
 *   (hex) is configured, as the Worker secret `OPERATOR_TOKEN_HASH`;
 * - named tokens `gvop_<id>_<64 hex>`, minted by the root operator, stored as HMAC(pepper, token)
 *   in the OperatorPlane object with an expiry, revocable.
 */
const OPERATOR_TOKEN = /^gvop_(root|[0-9a-f]{20})_([0-9a-f]{64})$/;

/** An operator token whose shape is right; validity is checked against the hash or the store. */
export interface ParsedOperatorToken {
  /** "root", or the id of a named token. */
  id: string;
  raw: string;
}

/** Parses an operator token, or null if it is not one (tenant tokens included). */
export function parseOperatorToken(raw: string): ParsedOperatorToken | null {
  const m = OPERATOR_TOKEN.exec(raw);
  return m ? { id: m[1]!, raw } : null;
}

/** A named operator token's id: 20 hex characters (never "root"). */
export function newOperatorTokenId(): string {
  return newTokenSecret().slice(0, 20);
}

/** Mints the string of a named operator token; shown once, stored only as its HMAC. */
export function mintOperatorToken(id: string): string {
  return `gvop_${id}_${newTokenSecret()}`;
}

/**
 * True when `raw` is the root operator token configured by its SHA-256. Unkeyed on purpose: the
 * deployer computes the hash offline (`printf %s "$TOKEN" | sha256sum`); the token carries 256
 * random bits, so the hash alone does not help guess it.
 */
export async function isRootOperatorToken(raw: string, configuredHash: string): Promise<boolean> {
  // OPERATOR_TOKEN_HASH is SHA-256 of the token as lowercase hex.
  return digestsEqual(await sha256Hex(raw), configuredHash);
}

/** The stored form of a named operator token: HMAC(pepper, token), as for tenant tokens. */
export const hashOperatorToken = hashToken;

/** Operator names: what follows `operator:` in audit entries and the operator log. */
export const OPERATOR_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/** An authenticated operator, as the Worker passes it to the objects that act for it. */
export interface OperatorActor {
  /** `root`, or the name given when the token was minted. */
  name: string;
  /** `root` or the named token's id. */
  tokenId: string;
  /** The request (or job) this operator is acting in. */
  requestId: string;
}

/** The identity string of an operator in every audit entry and log line. */
export function operatorIdentity(name: string): string {
  return `operator:${name}`;
}
