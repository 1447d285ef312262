/** @jsxImportSource hono/jsx */
/**
 * Sign-in, sign-out and the per-request session check of the dashboard.
 *
 * Sign-in exchanges a pasted API token for a session (POST /v1/sessions' operation); only the
 * session token goes into the cookie, and the API token is never stored or echoed. Every later
 * request: cookie mac → absolute and idle timeouts → for a POST, Origin and the CSRF token → the
 * page's call, where the vault refuses a revoked session (401 ends it here). Sign-out revokes the
 * session in the vault.
 */
import type { MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import { VaultError } from "../contract/errors";
import type { CreatedToken } from "../contract/schemas/tokens";
import { parseToken } from "../core/auth/tokens";
import { Layout } from "./layout";
import {
  CSRF_FIELD,
  IDLE_SECONDS,
  cookieName,
  csrfMatches,
  csrfToken,
  openSession,
  sameOrigin,
  sealSession,
  sessionCookie,
  type CookieSession,
} from "./session";
import { callAs, readForm, type DashContext, type DashEnv, type Viewer } from "./vault";

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
export function signInPage(
  c: DashContext,
  status: 200 | 401 | 403 = 200,
  message?: string,
): Response | Promise<Response> {
  return c.html(<SignInPage message={message ?? SIGN_IN_REASONS[c.req.query("reason") ?? ""]} />, status);
}

/** POST /ui/login: the API token in the form, a session in the cookie. */
export async function signIn(c: DashContext): Promise<Response> {
  if (!sameOrigin(c)) throw new VaultError("forbidden", "cross-origin or Origin-less form posts are refused");
  const form = await readForm(c);
  const token = parseToken((form.token ?? "").trim());
  if (!token) return signInPage(c, 401, "That is not a vault API token.");
  if (token.kind !== "api")
    return signInPage(c, 403, "Sign in with an API token; a session token cannot start another session.");
  let session: CreatedToken;
  try {
    session = await callAs<CreatedToken>(c, token.raw, token.tenantId, "sessions.create", {
      body: { name: "dashboard", ttl: c.get("config").SESSION_MAX_TTL_SECONDS },
    });
  } catch (error) {
    if (error instanceof VaultError && (error.status === 401 || error.status === 403))
      return signInPage(c, error.status, "The vault refused this token (unknown, expired or revoked).");
    throw error;
  }
  // Sessions always end (ops/sessions.ts caps them at SESSION_MAX_TTL_SECONDS).
  const expiresAt =
    Math.floor(Date.parse(session.expires_at ?? "") / 1000) || nowSeconds() + c.get("config").SESSION_MAX_TTL_SECONDS;
  const cookie: CookieSession = {
    token: session.token,
    lastSeen: nowSeconds(),
    tokenId: session.id,
    tenantId: token.tenantId,
    role: session.role,
    identity: session.identity,
    expiresAt,
  };
  c.header(
    "set-cookie",
    sessionCookie(c.req.url, await sealSession(c.get("config").TOKEN_PEPPER, cookie), expiresAt - nowSeconds()),
  );
  return c.redirect("/ui/credentials", 303);
}

/**
 * Sends a page load to sign in, clearing the cookie it presented; anything else is a 401. Only a GET
 * that carried the cookie clears it: a cross-site request arrives without it (SameSite=Strict), and
 * must not be able to sign the user out by provoking a clearing Set-Cookie.
 */
export function signedOut(c: DashContext, reason: "expired" | "idle" | null): Response {
  if (c.req.method !== "GET") throw new VaultError("unauthorized", "sign in again: the session has ended");
  if (reason === null) return c.redirect("/ui/login", 303);
  c.header("set-cookie", sessionCookie(c.req.url, "", 0));
  return c.redirect(`/ui/login?reason=${reason}`, 303);
}

/**
 * Every dashboard route behind sign-in: loads the viewer from the cookie, enforces the idle and
 * absolute timeouts, checks Origin and CSRF on POST. Whether the session is still alive (not
 * revoked, its API token not revoked) the vault decides on the page's own call; a 401 from it ends
 * the session here too (../index.tsx errorPage).
 */
export const requireSession: MiddlewareHandler<DashEnv> = async (c, next) => {
  const pepper = c.get("config").TOKEN_PEPPER;
  const session = await openSession(c, pepper);
  if (!session) return signedOut(c, getCookie(c, cookieName(c.req.url)) === undefined ? null : "expired");
  const now = nowSeconds();
  if (now >= session.expiresAt) return signedOut(c, "expired");
  if (now - session.lastSeen > IDLE_SECONDS) {
    // Idle: the session is revoked in the vault, not only forgotten by this browser.
    await callAs(c, session.token, session.tenantId, "sessions.revoke", { params: { id: session.tokenId } }).catch(
      () => undefined,
    );
    return signedOut(c, "idle");
  }
  const viewer: Viewer = {
    tenant_id: session.tenantId,
    token_id: session.tokenId,
    kind: "session",
    identity: session.identity,
    role: session.role,
    expires_at: new Date(session.expiresAt * 1000).toISOString(),
    token: session.token,
    csrf: await csrfToken(pepper, session.token),
  };
  c.set("viewer", viewer);
  if (c.req.method === "POST") {
    if (!sameOrigin(c)) throw new VaultError("forbidden", "cross-origin or Origin-less form posts are refused");
    const form = await readForm(c);
    if (!(await csrfMatches(pepper, session.token, form[CSRF_FIELD])))
      throw new VaultError("forbidden", "the form's CSRF token is missing or wrong; reload the page and try again");
    c.set("form", form);
  }
  await next();
  // Sliding idle window: each request the user makes renews last-seen (the script's background
  // refreshes do not); the absolute end stays the session's own.
  if (!c.res.headers.has("set-cookie") && c.res.status !== 401 && c.req.header("x-gv-background") !== "1") {
    c.res.headers.append(
      "set-cookie",
      sessionCookie(
        c.req.url,
        await sealSession(pepper, { ...session, lastSeen: nowSeconds() }),
        session.expiresAt - nowSeconds(),
      ),
    );
  }
};

/** POST /ui/logout: revokes the session in the vault, then clears the cookie. */
export async function signOut(c: DashContext): Promise<Response> {
  const viewer = c.get("viewer");
  await callAs(c, viewer.token, viewer.tenant_id, "sessions.revoke", { params: { id: viewer.token_id } });
  c.header("set-cookie", sessionCookie(c.req.url, "", 0));
  return c.redirect("/ui/login?reason=out", 303);
}
