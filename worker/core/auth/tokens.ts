import { bytesToHex } from "../crypto/encoding";
import { hmacSha256, timingSafeEqual } from "../crypto/primitives";
import { newTokenSecret } from "../ids";

/** Token kinds: long-lived API tokens and short-lived session tokens. */
export type TokenKind = "api" | "session";

const WIRE_KIND = { api: "api", session: "ses" } as const;
const TOKEN_FORMAT = /^gv_(api|ses)_([0-9a-f]{20})_([0-9a-f]{64})$/;

/** A token whose shape is right; whether it is valid is for the tenant's Durable Object to say. */
export interface ParsedToken {
  kind: TokenKind;
  tenantId: string;
  raw: string;
}

/**
 * Parses `gv_<kind>_<tenantId>_<secret>`. The tenant id in the token lets the Worker route to
 * the tenant's Durable Object without a lookup; it grants nothing by itself.
 */
export function parseToken(raw: string): ParsedToken | null {
  const m = TOKEN_FORMAT.exec(raw);
  if (!m) return null;
  return { kind: m[1] === "api" ? "api" : "session", tenantId: m[2]!, raw };
}

/** Mints a new token string for a tenant. Shown once, stored only as its HMAC. */
export function mintToken(kind: TokenKind, tenantId: string): string {
  return `gv_${WIRE_KIND[kind]}_${tenantId}_${newTokenSecret()}`;
}

/** Imports the pepper (hex) as an HMAC-SHA256 key. */
export async function importPepper(pepperHex: string): Promise<CryptoKey> {
  const bytes = new Uint8Array(pepperHex.match(/../g)!.map((h) => parseInt(h, 16)));
  return crypto.subtle.importKey("raw", bytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
}

/**
 * HMAC-SHA256(pepper, token) as hex: what is stored and looked up. A database leak alone does
 * not yield usable tokens, and the pepper never leaves the Worker's secrets.
 */
export async function hashToken(pepper: CryptoKey, raw: string): Promise<string> {
  return bytesToHex(await hmacSha256(pepper, new TextEncoder().encode(raw)));
}

/** Constant-time comparison of two equal-length hex digests. */
export function digestsEqual(a: string, b: string): boolean {
  const enc = new TextEncoder();
  return timingSafeEqual(enc.encode(a), enc.encode(b));
}
