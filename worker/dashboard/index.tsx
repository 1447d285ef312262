/** @jsxImportSource hono/jsx */
/**
 * The web console, served by the Worker under /ui (issue 14). Server-rendered with hono/jsx; one
 * small script and one stylesheet, both served from here. Reaches tenants only through the same
 * operations and RPC as the JSON API (./vault.ts). docs/security-model.md "Dashboard" describes the
 * session, CSRF and header rules enforced below.
 */
import { Hono, type Context, type MiddlewareHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { VaultError } from "../contract/errors";
import type { AppEnv } from "../app-env";
import { APP_CSS, APP_JS, FAVICON_SVG } from "./assets";
import { requireSession, signedOut, signIn, signInPage, signOut } from "./auth";
import { ErrorPage } from "./layout";
import { adminPages } from "./pages/admin";
import { accessPages } from "./pages/access";
import { auditPages } from "./pages/audit";
import { credentialPages } from "./pages/credentials";
import { leasePages } from "./pages/leases";
import { requestPages } from "./pages/requests";
import type { DashEnv } from "./vault";

/**
 * The page CSP: only this origin's script and style, no inline code, no framing, forms post only
 * here, no <base> rewriting.
 */
export const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

/** Headers on every dashboard response, error pages and assets included. */
const securityHeaders: MiddlewareHandler<AppEnv> = async (c, next) => {
  await next();
  const h = c.res.headers;
  h.set("content-security-policy", CSP);
  h.set("referrer-policy", "no-referrer");
  h.set("cache-control", "no-store");
  h.set("x-content-type-options", "nosniff");
  h.set("x-frame-options", "DENY");
  // Browsers ignore HSTS over http, and development runs over http on localhost: elsewhere always.
  if (c.get("config").ENVIRONMENT !== "development")
    h.set("strict-transport-security", "max-age=63072000; includeSubDomains");
};

/** VaultErrors become an HTML page with their status; anything else a bland 500 page, logged. */
function errorPage(error: Error, c: Context<DashEnv>): Response | Promise<Response> {
  // The vault no longer knows the session (revoked, expired, its API token revoked): sign out.
  if (error instanceof VaultError && error.status === 401 && c.req.method === "GET") return signedOut(c, "expired");
  let status: number;
  let message: string;
  if (error instanceof VaultError) [status, message] = [error.status, error.message];
  else if (error instanceof HTTPException && error.status === 413)
    [status, message] = [413, "request body is too large"];
  else {
    console.error("unhandled dashboard error", {
      request_id: c.get("requestId"),
      error: `${error.name}: ${error.message}`,
    });
    [status, message] = [500, "internal error"];
  }
  const viewer = status === 401 ? null : (c.get("viewer") ?? null);
  return c.html(<ErrorPage status={status} message={message} viewer={viewer} />, status as 400);
}

const asset = (body: string, type: string) => (c: Context) => c.body(body, 200, { "content-type": type });

const signedIn = new Hono<DashEnv>();
signedIn.use(requireSession);
signedIn.get("/", (c) => c.redirect("/ui/credentials", 303));
signedIn.post("/logout", signOut);
credentialPages(signedIn);
leasePages(signedIn);
requestPages(signedIn);
auditPages(signedIn);
accessPages(signedIn);
adminPages(signedIn);
signedIn.all("*", () => {
  throw new VaultError("not_found", "no such page");
});
signedIn.onError(errorPage);

/** The dashboard router, mounted at /ui by worker/index.ts. */
export const dashboard = new Hono<DashEnv>();
dashboard.use(securityHeaders);
dashboard.get("/assets/app.js", asset(APP_JS, "text/javascript; charset=utf-8"));
dashboard.get("/assets/app.css", asset(APP_CSS, "text/css; charset=utf-8"));
dashboard.get("/assets/favicon.svg", asset(FAVICON_SVG, "image/svg+xml"));
dashboard.get("/login", (c) => signInPage(c));
dashboard.post("/login", signIn);
dashboard.route("/", signedIn);
dashboard.onError(errorPage);
