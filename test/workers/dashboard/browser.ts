import { expect } from "vitest";
import { BASE, workerFetch } from "../helpers";

/** The dashboard as a browser sees it: one cookie jar (the session cookie) and same-origin form posts. */
export interface Browser {
  cookie: string | null;
  get(path: string): Promise<Response>;
  /** A form post with this origin's Origin header and the CSRF token of the last page, unless overridden. */
  post(
    path: string,
    fields: Record<string, string>,
    opts?: { origin?: string | null; csrf?: string | null; secFetchSite?: string },
  ): Promise<Response>;
  /** The CSRF token rendered into the last page fetched. */
  csrf: string | null;
}

/** The session cookie's name over https (the tests' BASE). */
export const COOKIE = "__Host-gv_session";

function remember(b: Browser, res: Response): void {
  for (const line of res.headers.getSetCookie()) {
    const m = /^([^=]+)=([^;]*)/.exec(line);
    if (m && m[1] === COOKIE) b.cookie = m[2] === "" ? null : m[2]!;
  }
}

/** A fresh browser with no cookie. */
export function browser(): Browser {
  const b: Browser = {
    cookie: null,
    csrf: null,
    async get(path) {
      const res = await workerFetch(`${BASE}${path}`, {
        headers: b.cookie ? { cookie: `${COOKIE}=${b.cookie}` } : {},
        redirect: "manual",
      });
      remember(b, res);
      const html = await res.clone().text();
      const m = /name="_csrf" value="([^"]+)"/.exec(html);
      if (m) b.csrf = m[1]!;
      return res;
    },
    async post(path, fields, opts = {}) {
      const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded" };
      const origin = opts.origin === undefined ? BASE : opts.origin;
      if (origin !== null) headers.origin = origin;
      if (opts.secFetchSite !== undefined) headers["sec-fetch-site"] = opts.secFetchSite;
      if (b.cookie) headers.cookie = `${COOKIE}=${b.cookie}`;
      const csrf = opts.csrf === undefined ? b.csrf : opts.csrf;
      const body = new URLSearchParams(csrf === null ? fields : { ...fields, _csrf: csrf });
      const res = await workerFetch(`${BASE}${path}`, {
        method: "POST",
        headers,
        body: body.toString(),
        redirect: "manual",
      });
      remember(b, res);
      return res;
    },
  };
  return b;
}

/** Signs in with an API token; the browser then holds a session cookie and a CSRF token. */
export async function signedIn(apiToken: string): Promise<Browser> {
  const b = browser();
  const res = await b.post("/ui/login", { token: apiToken });
  expect(res.status, await res.clone().text()).toBe(303);
  expect(b.cookie).not.toBeNull();
  const page = await b.get("/ui/credentials");
  expect(page.status).toBe(200);
  return b;
}
