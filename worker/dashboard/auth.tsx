/** @jsxImportSource hono/jsx */
/**
 * Sign-in, sign-out and the per-request session check of the dashboard.
 *
 * Sign-in exchanges a pasted API token for a session (POST /v1/sessions' operation); only the
 * session token goes into the cookie, and the API token is never stored or echoed. Every later
 * request: cookie mac → idle timeout → whoami in the vault (revoked, expired, parent revoked: 401)
 * → for a POST, Origin and the CSRF token. Sign-out revokes the session in the vault.
 */
import type { MiddlewareHandler } from "hono";
import { VaultError } from "../contract/errors";
import type { CreatedToken, Whoami } from "../contract/schemas/tokens";
import { parseToken } from "../core/auth/tokens";
import type { AppEnv } from "../app-env";
import { Layout } from "./layout";
import { CSRF_FIELD, IDLE_SECONDS, csrfMatches, csrfToken, openSession, sameOrigin, sealSession, sessionCookie } from "./session";
import { callAs, readForm, type DashContext, type DashEnv } from "./vault";
import type { Context } from "hono";

/** Why the sign-in page is shown again: a closed set, so the query string cannot put text on it. */
const SIGN_IN_REASONS: Record<string, string> = {
  idle: "Your session was idle too long and has ended. Sign in again.",
  expired: "Your session has ended. Sign in again.",
  out: "Signed out; the session is revoked.",
};

const SignInPage = ({ message }: { message?: string | undefined }) => (
  <Layout title="Sign in">
    {message ? (
      <p class="notice" role="status">
        {message}
      </p>
    ) : null}
    <form method="post" action="/ui/login">
      <label>
        <span>API token (exchanged for a session of at most 12 hours; the token itself is not kept)</span>
        <input type="password" name="token" id="f-token" required autocomplete="off" />
      </label>
      <button type="submit">Sign in</button>
    </form>
  </Layout>
);

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** GET /ui/login */
export function signInPage(c: Context<AppEnv>, status: 200 | 401 | 403 = 200, message?: string): Response | Promise<Response> {
  return c.html(<SignInPage message={message ?? SIGN_IN_REASONS[c.req.query("reason") ?? ""]} />, status);
}

/** POST /ui/login: the API token in the form, a session in the cookie. */
export async function signIn(c: Context<AppEnv>): Promise<Response> {
  if (!sameOrigin(c)) throw new VaultError("forbidden", "cross-origin or Origin-less form posts are refused");
  const form = await readForm(c);
  const token = parseToken((form.token ?? "").trim());
  if (!token) return signInPage(c, 401, "That is not a vault API token.");
  if (token.kind !== "api") return signInPage(c, 403, "Sign in with an API token; a session token cannot start another session.");
  let session: CreatedToken;
  try {
    session = await callAs<CreatedToken>(c, token.raw, token.tenantId, "sessions.create", { name: "dashboard", ttl: c.get("config").SESSION_MAX_TTL_SECONDS });
  } catch (error) {
    if (error instanceof VaultError && (error.status === 401 || error.status === 403)) return signInPage(c, error.status, "The vault refused this token (unknown, expired or revoked).");
    throw error;
  }
  const lifetime = session.expires_at === null ? c.get("config").SESSION_MAX_TTL_SECONDS : (Date.parse(session.expires_at) - Date.now()) / 1000;
  c.header("set-cookie", sessionCookie(c.req.url, await sealSession(c.get("config").TOKEN_PEPPER, session.token, nowSeconds()), lifetime));
  return c.redirect("/ui/credentials", 303);
}

/** Clears the cookie and sends the browser to sign in (a page load) or answers 401 (anything else). */
function signedOut(c: Context<DashEnv>, reason: string): Response {
  c.header("set-cookie", sessionCookie(c.req.url, "", 0));
  if (c.req.method === "GET") return c.redirect(`/ui/login?reason=${reason}`, 303);
  throw new VaultError("unauthorized", "sign in again: the session has ended");
}

/** Every dashboard route behind sign-in: loads the viewer, enforces timeouts, checks CSRF on POST. */
export const requireSession: MiddlewareHandler<DashEnv> = async (c, next) => {
  const pepper = c.get("config").TOKEN_PEPPER;
  const opened = await openSession(c, pepper);
  if (!opened) return signedOut(c, "expired");
  const token = parseToken(opened.token);
  if (!token || token.kind !== "session") return signedOut(c, "expired");
  let whoami: Whoami;
  try {
    whoami = await callAs<Whoami>(c, opened.token, token.tenantId, "whoami");
  } catch (error) {
    if (error instanceof VaultError && error.status === 401) return signedOut(c, "expired");
    throw error;
  }
  if (nowSeconds() - opened.lastSeen > IDLE_SECONDS) {
    // Idle: the session is revoked in the vault, not only forgotten by this browser.
    await callAs(c, opened.token, token.tenantId, "sessions.revoke", { id: whoami.token_id }).catch(() => undefined);
    return signedOut(c, "idle");
  }
  c.set("viewer", { ...whoami, token: opened.token, csrf: await csrfToken(pepper, opened.token) });
  if (c.req.method === "POST") {
    if (!sameOrigin(c)) throw new VaultError("forbidden", "cross-origin or Origin-less form posts are refused");
    const form = await readForm(c);
    if (!(await csrfMatches(pepper, opened.token, form[CSRF_FIELD]))) throw new VaultError("forbidden", "the form's CSRF token is missing or wrong; reload the page and try again");
    c.set("form", form);
  }
  await next();
  // Sliding idle window: each request renews last-seen; the absolute end stays the session's own.
  if (!c.res.headers.has("set-cookie") && whoami.expires_at !== null) {
    const lifetime = (Date.parse(whoami.expires_at) - Date.now()) / 1000;
    c.res.headers.append("set-cookie", sessionCookie(c.req.url, await sealSession(pepper, opened.token, nowSeconds()), lifetime));
  }
};

/** POST /ui/logout: revokes the session in the vault, then clears the cookie. */
export async function signOut(c: DashContext): Promise<Response> {
  const viewer = c.get("viewer");
  await callAs(c, viewer.token, viewer.tenant_id, "sessions.revoke", { id: viewer.token_id });
  c.header("set-cookie", sessionCookie(c.req.url, "", 0));
  return c.redirect("/ui/login?reason=out", 303);
}
