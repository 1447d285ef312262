/**
 * The dashboard's session cookie and CSRF tokens.
 *
 * A signed-in browser holds one cookie: `<session token>.<last seen, unix s>.<mac>`, where the mac is
 * HMAC-SHA256 under a key derived from TOKEN_PEPPER. The session token is an ordinary session of
 * durable-objects/ops/sessions.ts (≤ SESSION_MAX_TTL_SECONDS, dies with its API token), so the vault
 * stays the authority: revoked or expired sessions are refused there. The mac only binds the
 * last-seen time, which the Worker checks for the idle timeout: a stolen cookie cannot be made
 * "fresh" again without the pepper.
 *
 * Cookie name: `__Host-gv_session` over https (the prefix forces Secure, Path=/ and no Domain, so a
 * sibling subdomain cannot plant one). Browsers refuse `Secure` cookies from http origins, so local
 * development over http (never production: basics refuses http there) uses `gv_session` without the
 * prefix or Secure; each name is read only over its own scheme.
 */
import { getCookie } from "hono/cookie";
import type { Context } from "hono";

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
  return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

async function mac(pepperHex: string, label: string, text: string): Promise<string> {
  return base64url(await crypto.subtle.sign("HMAC", await dashboardKey(pepperHex), encoder.encode(`${label}\0${text}`)));
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

/** The cookie value for a session token last seen at `nowSeconds`. */
export async function sealSession(pepperHex: string, token: string, nowSeconds: number): Promise<string> {
  const body = `${token}.${nowSeconds}`;
  return `${body}.${await mac(pepperHex, "session", body)}`;
}

/** What a valid cookie says: the session token and when it was last used. */
export interface OpenedSession {
  token: string;
  lastSeen: number;
}

/** The session in this request's cookie, or null when there is none or its mac is wrong. */
export async function openSession(c: Context, pepperHex: string): Promise<OpenedSession | null> {
  const raw = getCookie(c, cookieName(c.req.url));
  const m = raw === undefined ? null : /^([\x21-\x7e]{1,256})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(raw);
  if (!m) return null;
  const body = `${m[1]}.${m[2]}`;
  if (!same(await mac(pepperHex, "session", body), m[3]!)) return null;
  return { token: m[1]!, lastSeen: Number(m[2]) };
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
