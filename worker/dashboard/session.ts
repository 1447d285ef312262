/**
 * The dashboard's session cookie and CSRF tokens.
 *
 * A signed-in browser holds one cookie: the session token, its last-seen time and what the vault
 * said about the session (CookieSession), with an HMAC-SHA256 under a key derived from TOKEN_PEPPER.
 * The session token is an ordinary session of durable-objects/ops/sessions.ts (≤
 * SESSION_MAX_TTL_SECONDS, dies with its API token), so the vault stays the authority: revoked or
 * expired sessions are refused there on every page's call. The mac binds the last-seen time, which
 * the Worker checks for the idle timeout: a stolen cookie cannot be made "fresh" again without the
 * pepper, nor its role raised.
 *
 * Cookie name: `__Host-gv_session` over https (the prefix forces Secure, Path=/ and no Domain, so a
 * sibling subdomain cannot plant one). Browsers refuse `Secure` cookies from http origins, so local
 * development over http (never production: basics refuses http there) uses `gv_session` without the
 * prefix or Secure; each name is read only over its own scheme.
 */
import { getCookie } from "hono/cookie";
import type { Context } from "hono";
import { z } from "zod";
import { ROLES, type Role } from "../contract/roles";

/** A session unused this long is ended (and revoked) on its next request. */
export const IDLE_SECONDS = 30 * 60;
/** The form field that carries the per-session CSRF token. */
export const CSRF_FIELD = "_csrf";

const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

/** HMAC key for cookies and CSRF tokens: HMAC(pepper, label), so it is not the token-hashing key itself. */
function dashboardKey(pepperHex: string): Promise<CryptoKey> {
  let key = keys.get(pepperHex);
  if (!key) {
    key = (async () => {
      const pepper = new Uint8Array(pepperHex.match(/../g)!.map((h) => parseInt(h, 16)));
      const base = await crypto.subtle.importKey("raw", pepper, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
      const derived = await crypto.subtle.sign("HMAC", base, encoder.encode("ghostvault dashboard cookie v1"));
      return crypto.subtle.importKey("raw", derived, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    })();
    keys.set(pepperHex, key);
  }
  return key;
}

function base64url(bytes: ArrayBuffer): string {
  return btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

async function mac(pepperHex: string, label: string, text: string): Promise<string> {
  return base64url(
    await crypto.subtle.sign("HMAC", await dashboardKey(pepperHex), encoder.encode(`${label}\0${text}`)),
  );
}

/** Equal strings, compared without an early exit on the first differing byte. */
function same(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  return x.byteLength === y.byteLength && crypto.subtle.timingSafeEqual(x, y);
}

/** The cookie name for this request's scheme (see the file comment). */
export function cookieName(url: string): string {
  return new URL(url).protocol === "https:" ? "__Host-gv_session" : "gv_session";
}

/** A Set-Cookie value for `value`, living `maxAge` seconds (0 clears it). */
export function sessionCookie(url: string, value: string, maxAge: number): string {
  const secure = new URL(url).protocol === "https:" ? "; Secure" : "";
  return `${cookieName(url)}=${value}; Path=/; HttpOnly${secure}; SameSite=Strict; Max-Age=${Math.max(0, Math.floor(maxAge))}`;
}

/**
 * What the cookie carries: the session token, when it was last used, and what the vault said about
 * the session when it was created (id, role, identity, end; none of which a session can change), so
 * a page needs no extra call to draw its navigation. The vault still authenticates the token on the
 * page's own call; this is never taken as proof that the session is alive.
 */
export interface CookieSession {
  token: string;
  lastSeen: number;
  tokenId: string;
  tenantId: string;
  role: Role;
  identity: string;
  /** The session's absolute end, unix seconds. */
  expiresAt: number;
}

const CookieSessionSchema = z.tuple([
  z.string().regex(/^[\x21-\x7e]{1,256}$/),
  z.number().int().nonnegative(),
  z.string().max(64),
  z.string().max(64),
  z.enum(ROLES),
  z.string().max(512),
  z.number().int().nonnegative(),
]);

function toBase64url(text: string): string {
  return base64url(encoder.encode(text).buffer as ArrayBuffer);
}

function fromBase64url(text: string): string | null {
  try {
    const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(
      Uint8Array.from(bin, (ch) => ch.charCodeAt(0)),
    );
  } catch {
    return null;
  }
}

/** The cookie value: base64url(JSON of the fields) "." HMAC over it. */
export async function sealSession(pepperHex: string, s: CookieSession): Promise<string> {
  const body = toBase64url(
    JSON.stringify([s.token, s.lastSeen, s.tokenId, s.tenantId, s.role, s.identity, s.expiresAt]),
  );
  return `${body}.${await mac(pepperHex, "session", body)}`;
}

/** A cookie value's session, or null when it is malformed or its mac is wrong. */
export async function openSessionValue(pepperHex: string, raw: string | undefined): Promise<CookieSession | null> {
  const m = raw === undefined ? null : /^([A-Za-z0-9_-]{1,2048})\.([A-Za-z0-9_-]{43})$/.exec(raw);
  if (!m || !same(await mac(pepperHex, "session", m[1]!), m[2]!)) return null;
  const text = fromBase64url(m[1]!);
  let parsed: unknown;
  try {
    parsed = text === null ? null : JSON.parse(text);
  } catch {
    return null;
  }
  const fields = CookieSessionSchema.safeParse(parsed);
  if (!fields.success) return null;
  const [token, lastSeen, tokenId, tenantId, role, identity, expiresAt] = fields.data;
  return { token, lastSeen, tokenId, tenantId, role, identity, expiresAt };
}

/** The session in this request's cookie, or null when there is none or its mac is wrong. */
export function openSession(c: Context, pepperHex: string): Promise<CookieSession | null> {
  return openSessionValue(pepperHex, getCookie(c, cookieName(c.req.url)));
}

/** The CSRF token of a session: derived from it, so nothing is stored and it dies with the session. */
export function csrfToken(pepperHex: string, sessionToken: string): Promise<string> {
  return mac(pepperHex, "csrf", sessionToken);
}

/** True when `presented` is the session's CSRF token. */
export async function csrfMatches(pepperHex: string, sessionToken: string, presented: unknown): Promise<boolean> {
  return typeof presented === "string" && same(await csrfToken(pepperHex, sessionToken), presented);
}

/**
 * True when a form post comes from this Worker's own pages. The Origin header must be this origin,
 * except that with `Referrer-Policy: no-referrer` (which every page sends) browsers serialise a
 * form post's Origin as "null" (Fetch §3.2.5); then Fetch Metadata must say `Sec-Fetch-Site:
 * same-origin`. A missing Origin, another origin, or "null" without that header is refused: the
 * dashboard's forms are only ever posted by a browser, and every current browser sends both.
 */
export function sameOrigin(c: Context): boolean {
  const origin = c.req.header("origin");
  const site = c.req.header("sec-fetch-site");
  if (site !== undefined && site !== "same-origin") return false;
  if (origin === new URL(c.req.url).origin) return true;
  return origin === "null" && site === "same-origin";
}
