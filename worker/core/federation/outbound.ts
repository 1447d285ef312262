/**
 * The guard every outbound fetch whose URL someone else chose goes through: OIDC discovery and
 * JWKS today, a credential proxy tomorrow. It looks at the URL only, because that is all a Worker
 * can see: `fetch` exposes no resolved IP and pins none, and a DNS pre-check through `node:dns`
 * would be answered by a different resolution than the fetch's own (rebinding). So a public
 * hostname whose DNS points at a private address cannot be refused here; in production Cloudflare
 * refuses IP-literal URLs itself (error 1003), and the `global_fetch_strictly_public`
 * compatibility flag (set in wrangler.toml) sends even own-zone hostnames through the public
 * internet rather than straight to an origin. See /docs/security-model.md.
 *
 * Refused unless `allowInsecureForTests`: any scheme but https, an explicit non-default port,
 * every IP literal (the WHATWG URL parser turns decimal, octal and hex IPv4 forms into dotted
 * quads, so one check covers them; IPv6 literals, v4-mapped included, keep their brackets),
 * `localhost` and single-label hosts, and the non-public suffixes in {@link PRIVATE_SUFFIXES}.
 * Userinfo (`https://user:pass@host`) is refused always: it would put a secret in a URL that
 * ends up in logs and audit entries, and it is a classic way to disguise the real host.
 */

/** Host suffixes that name no public host (RFC 6761 `.localhost`, RFC 6762 `.local`, RFC 8375 `.home.arpa`, common private DNS). */
export const PRIVATE_SUFFIXES = [
  ".localhost",
  ".local",
  ".internal",
  ".home.arpa",
  ".localdomain",
  ".lan",
  ".intranet",
  ".corp",
] as const;

/** Options of {@link checkOutboundUrl}. */
export interface OutboundUrlOptions {
  /**
   * Also allow `http:`, ports, IP literals and local names: only for tests and local development,
   * set from a configuration value that production refuses (see worker/contract/config.ts).
   */
  allowInsecureForTests?: boolean;
}

/** The verdict on a URL: the parsed URL to fetch, or what is wrong with it (safe to show to an admin). */
export type OutboundUrlResult = { ok: true; url: URL } | { ok: false; problem: string };

const refused = (problem: string): OutboundUrlResult => ({ ok: false, problem });

/** True when the WHATWG parser read `hostname` as an IP address rather than a name. */
function isIpLiteral(hostname: string): boolean {
  if (hostname.startsWith("[")) return true;
  // Any host whose last label is numeric is parsed as IPv4 (and normalised to a dotted quad).
  const last = hostname.split(".").at(-1) ?? "";
  return /^(\d+|0x[0-9a-f]*)$/i.test(last);
}

/**
 * Checks that `input` may be fetched by the vault on someone else's behalf. Never throws; the
 * problem names what is wrong without echoing more than the offending part of the URL.
 */
export function checkOutboundUrl(input: string, opts: OutboundUrlOptions = {}): OutboundUrlResult {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return refused("not a URL");
  }
  if (url.username !== "" || url.password !== "") return refused("a URL must not carry a user name or password");
  const insecureOk = opts.allowInsecureForTests === true;
  if (url.protocol !== "https:" && !(insecureOk && url.protocol === "http:"))
    return refused(`${url.protocol} URL refused; https is required`);
  if (insecureOk) return { ok: true, url };
  // The parser drops a port equal to the scheme's default, so any port left is a non-default one.
  if (url.port !== "") return refused(`port ${url.port} refused; only the default https port is allowed`);
  // A trailing dot names the same host ("localhost." is localhost), so compare without it.
  const host = url.hostname.toLowerCase().replace(/\.$/, "");
  if (isIpLiteral(host)) return refused("IP address URLs are refused; use a DNS name");
  if (host === "localhost" || !host.includes("."))
    return refused(`host ${JSON.stringify(host)} is not a public DNS name`);
  const suffix = PRIVATE_SUFFIXES.find((s) => host.endsWith(s));
  if (suffix) return refused(`hosts under ${suffix} are not public`);
  return { ok: true, url };
}

/** Longest fetch detail kept for an audit entry; the rest is cut with a marker. */
export const MAX_DETAIL_CHARS = 256;

/** Bounds a diagnostic string (which may quote a hostile server's `Location`) before it is stored. */
export function boundDetail(detail: string): string {
  return detail.length <= MAX_DETAIL_CHARS ? detail : `${detail.slice(0, MAX_DETAIL_CHARS)}…[truncated]`;
}

/**
 * A per-tenant budget of outbound fetches: at most `limit` in any fixed one-minute window. Kept
 * in memory by the tenant's Durable Object, so it bounds what anonymous callers can make one
 * tenant fetch; an evicted object starts a fresh window, which at worst doubles one minute's count.
 */
export class OutboundBudget {
  readonly #limit: number;
  readonly #windowMs: number;
  #windowStart = Number.NEGATIVE_INFINITY;
  #spent = 0;

  /** @throws RangeError on a limit below 1. */
  constructor(limit: number, windowMs = 60_000) {
    if (!(limit >= 1)) throw new RangeError("limit must be >= 1");
    this.#limit = limit;
    this.#windowMs = windowMs;
  }

  /** Takes one fetch from the budget at time `now`; false (nothing taken) when it is spent. */
  take(now: number): boolean {
    if (now - this.#windowStart >= this.#windowMs || now < this.#windowStart) {
      this.#windowStart = now;
      this.#spent = 0;
    }
    if (this.#spent >= this.#limit) return false;
    this.#spent++;
    return true;
  }
}
