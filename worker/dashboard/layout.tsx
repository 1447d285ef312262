/** @jsxImportSource hono/jsx */
/**
 * The page frame and the small components every page shares. Everything rendered goes through
 * hono/jsx, which escapes text and attribute values, so a hostile credential name, tag or identity
 * is shown as text. No inline script or style anywhere: the CSP allows neither.
 */
import type { Child, FC } from "hono/jsx";
import type { Operation } from "../contract/operations";
import { CSRF_FIELD } from "./session";
import { may, type DashContext, type Viewer } from "./vault";

/** One navigation entry, shown only to roles that may perform its operation. */
export interface NavItem {
  href: string;
  label: string;
  op: Operation;
}

/**
 * The navigation, in order. To add a page (the access-requests queue goes after Leases): add an
 * entry here naming the operation that gates it, a `xxxPages(ui)` file in pages/ (kekPage in
 * pages/admin.tsx is the pattern: `call()` checks the role and calls the vault, `render()` frames it,
 * a POST handler reads `c.get("form")` and ends in `doneRedirect`), and mount it in index.tsx.
 */
export const NAV: NavItem[] = [
  { href: "/ui/credentials", label: "Credentials", op: "credentials.list" },
  { href: "/ui/leases", label: "Leases", op: "leases.list" },
  { href: "/ui/requests", label: "Approvals", op: "access_requests.list" },
  { href: "/ui/audit", label: "Audit", op: "audit.query" },
  { href: "/ui/tokens", label: "Tokens", op: "tokens.list" },
  { href: "/ui/sessions", label: "Sessions", op: "whoami" },
  { href: "/ui/teams", label: "Teams", op: "teams.list" },
  { href: "/ui/oidc", label: "OIDC trusts", op: "oidc.list" },
  { href: "/ui/webhooks", label: "Webhooks", op: "webhooks.list" },
  { href: "/ui/kek", label: "KEK", op: "kek.status" },
  { href: "/ui/incident", label: "Incident", op: "incident.impact" },
  { href: "/ui/health", label: "Health", op: "whoami" },
];

/** Messages a redirect may ask for with `?done=`: a closed set, so the query cannot put text on the page. */
export const DONE_MESSAGES: Record<string, string> = {
  created: "Created.",
  saved: "Saved.",
  rotated: "Rotated: a new version holds the value.",
  deleted: "Deleted.",
  revoked: "Revoked.",
  approved: "Approved: the requester may now take one lease.",
  denied: "Denied: the requester sees your reason.",
  kek_rotated: "KEK rotation started; wrapped keys are rewrapped in the background.",
};

/** The frame of every page: head with the stylesheet and script, navigation, and the body. */
export const Layout: FC<{ title: string; viewer?: Viewer | null; done?: string | undefined; children?: Child }> = ({
  title,
  viewer,
  done,
  children,
}) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <title>{`${title} · Vault`}</title>
      <link rel="icon" href="/ui/assets/favicon.svg" type="image/svg+xml" />
      <link rel="stylesheet" href="/ui/assets/app.css" />
      <script src="/ui/assets/app.js" defer></script>
    </head>
    <body>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header>
        <span class="brand">Vault</span>
        {viewer ? (
          <>
            <nav aria-label="Main">
              <ul>
                {NAV.filter((n) => may(viewer, n.op)).map((n) => (
                  <li>
                    <a href={n.href}>{n.label}</a>
                  </li>
                ))}
              </ul>
            </nav>
            <form method="post" action="/ui/logout" class="logout">
              <Csrf viewer={viewer} />
              <span class="who">
                {viewer.identity} ({viewer.role})
              </span>
              <button type="submit">Sign out</button>
            </form>
          </>
        ) : null}
      </header>
      <main id="main">
        <h1>{title}</h1>
        {done && DONE_MESSAGES[done] ? (
          <p class="notice" role="status">
            {DONE_MESSAGES[done]}
          </p>
        ) : null}
        {children}
      </main>
    </body>
  </html>
);

/** The hidden CSRF field every POST form carries. */
export const Csrf: FC<{ viewer: Viewer }> = ({ viewer }) => (
  <input type="hidden" name={CSRF_FIELD} value={viewer.csrf} />
);

/** A POST form with its CSRF field. */
export const PostForm: FC<{
  viewer: Viewer;
  action: string;
  class?: string;
  children?: Child;
  confirmWord?: string;
}> = ({ viewer, action, children, confirmWord, ...rest }) => (
  <form method="post" action={action} class={rest.class} data-confirm-word={confirmWord}>
    <Csrf viewer={viewer} />
    {children}
  </form>
);

/** A labelled input. */
export const Field: FC<{
  label: string;
  name: string;
  value?: string | undefined;
  type?: string;
  required?: boolean;
  placeholder?: string;
  autocomplete?: string;
}> = (p) => (
  <label>
    <span>{p.label}</span>
    <input
      name={p.name}
      id={`f-${p.name}`}
      type={p.type ?? "text"}
      value={p.value}
      required={p.required}
      placeholder={p.placeholder}
      autocomplete={p.autocomplete ?? "off"}
    />
  </label>
);

/** A labelled textarea, for JSON documents such as an ACL. */
export const TextArea: FC<{ label: string; name: string; value?: string; rows?: number }> = (p) => (
  <label>
    <span>{p.label}</span>
    <textarea name={p.name} id={`f-${p.name}`} rows={p.rows ?? 8} spellcheck={false}>
      {p.value ?? ""}
    </textarea>
  </label>
);

/** A labelled select. */
export const Select: FC<{ label: string; name: string; options: readonly string[]; value?: string | undefined }> = (
  p,
) => (
  <label>
    <span>{p.label}</span>
    <select name={p.name} id={`f-${p.name}`}>
      {p.options.map((o) => (
        <option value={o} selected={o === p.value}>
          {o === "" ? "(any)" : o}
        </option>
      ))}
    </select>
  </label>
);

/** A table of rows with a header; `empty` is shown when there are none. */
export const Table: FC<{ head: string[]; rows: Child[][]; empty?: string; id?: string; caption?: string }> = ({
  head,
  rows,
  empty,
  id,
  caption,
}) =>
  rows.length === 0 ? (
    <p class="empty" id={id}>
      {empty ?? "Nothing here."}
    </p>
  ) : (
    <table id={id}>
      {caption ? <caption>{caption}</caption> : null}
      <thead>
        <tr>
          {head.map((h) => (
            <th scope="col">{h}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr>
            {r.map((cell) => (
              <td>{cell}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );

/** A value shown exactly once (a new token, a webhook secret), with the warning that goes with it. */
export const ShownOnce: FC<{ label: string; value: string }> = ({ label, value }) => (
  <section class="once" aria-labelledby="once-h">
    <h2 id="once-h">{label}</h2>
    <p>Copy it now: it is shown only this once and cannot be retrieved again.</p>
    <output id="shown-once">{value}</output>
  </section>
);

/** A page for an error: the status, the vault's message, a way back. */
export const ErrorPage: FC<{ status: number; message: string; viewer?: Viewer | null }> = ({
  status,
  message,
  viewer,
}) => (
  <Layout title={status === 403 ? "Not allowed" : status === 404 ? "Not found" : "Request refused"} viewer={viewer}>
    <p class="error" role="alert">
      {message}
    </p>
    <p>
      <a href="/ui/credentials">Back to credentials</a>
    </p>
  </Layout>
);

/** Renders a page in the frame for the signed-in viewer, with the `?done=` notice if any. */
export function render(
  c: DashContext,
  title: string,
  body: Child,
  status: 200 | 201 = 200,
): Response | Promise<Response> {
  return c.html(
    <Layout title={title} viewer={c.get("viewer")} done={c.req.query("done")}>
      {body}
    </Layout>,
    status,
  );
}

/** After a successful POST: back to a page (303, so a reload does not post again) with a notice. */
export function doneRedirect(c: DashContext, path: string, done: keyof typeof DONE_MESSAGES & string): Response {
  return c.redirect(`${path}${path.includes("?") ? "&" : "?"}done=${done}`, 303);
}
