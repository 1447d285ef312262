/**
 * Bounded GETs of the JSON documents federation depends on (JWKS, OpenID discovery), returning
 * typed failures instead of throwing. Every URL, the first and each redirect target, passes
 * {@link checkOutboundUrl}; redirects are followed by hand, at most {@link MAX_REDIRECTS} hops.
 */
import { utf8Decode } from "../crypto/encoding";
import { checkOutboundUrl } from "./outbound";

/** The `fetch` this module uses; the global `fetch` and a service binding's `fetch` both fit. */
export type FetchFn = (input: string, init?: RequestInit) => Promise<Response>;

/** Closed set of reasons a JWKS or discovery document could not be obtained. */
export type JwksErrorCode =
  | "insecure_uri"
  | "fetch_failed"
  | "http_status"
  | "too_large"
  | "not_json"
  | "invalid_document"
  | "issuer_mismatch"
  | "budget_exceeded";

/** A typed failure; `message` is for logs and admins, never includes response bodies. */
export interface JwksError {
  code: JwksErrorCode;
  message: string;
}

/** Options shared by fetches of JWKS and discovery documents. */
export interface DocumentFetchOptions {
  /** Allow `http:`, ports and local hosts (tests and local development only; see outbound.ts). Default false. */
  allowInsecure?: boolean;
  /** Abort the request after this long. Default 5 s. */
  timeoutMs?: number;
}

/** Largest JWKS or discovery document read; GitHub's JWKS is under 4 KiB. */
export const MAX_DOCUMENT_BYTES = 64 * 1024;

/** Most redirects followed per document; each hop is a subrequest and is checked like the first URL. */
export const MAX_REDIRECTS = 3;

/** A failed result carrying a {@link JwksError}. */
export function fail(code: JwksErrorCode, message: string): { ok: false; error: JwksError } {
  return { ok: false, error: { code, message } };
}

/** Parses `uri` and applies the outbound guard; the error otherwise. */
export function checkUrl(uri: string, allowInsecure: boolean): URL | JwksError {
  const checked = checkOutboundUrl(uri, { allowInsecureForTests: allowInsecure });
  return checked.ok ? checked.url : { code: "insecure_uri", message: `${checked.problem}: ${JSON.stringify(uri)}` };
}

/** Reads at most `max` bytes of a body (a Response's or a Request's), cancelling the stream beyond that. */
export async function readBounded(
  res: { readonly body: ReadableStream<Uint8Array> | null },
  max: number,
): Promise<Uint8Array | null> {
  if (!res.body) return new Uint8Array();
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

/** The status codes after which `Location` says where to go next (RFC 9110 §15.4). */
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** The target of a redirect answer, checked by the guard; the error otherwise. */
function redirectTarget(res: Response, from: URL, allowInsecure: boolean): URL | JwksError {
  const location = res.headers.get("location");
  if (location === null)
    return { code: "http_status", message: `GET ${from.href} answered ${res.status} without Location` };
  let target: string;
  try {
    target = new URL(location, from).href;
  } catch {
    return { code: "insecure_uri", message: `GET ${from.href} redirected to a non-URL` };
  }
  const checked = checkUrl(target, allowInsecure);
  return checked instanceof URL
    ? checked
    : { code: "insecure_uri", message: `GET ${from.href} redirected to a refused URL: ${checked.message}` };
}

/**
 * GETs a JSON document with bounds on size, time (one deadline for all hops) and redirects; never
 * throws. `redirect: "manual"` because `follow` would forward every header to wherever the server
 * points and skip the guard; `cache: "no-store"` so a cached answer cannot outlive the issuer's.
 */
export async function fetchJsonDocument(
  uri: string,
  fetchFn: FetchFn,
  opts: DocumentFetchOptions,
): Promise<{ ok: true; value: unknown } | { ok: false; error: JwksError }> {
  const allowInsecure = opts.allowInsecure ?? false;
  let url = checkUrl(uri, allowInsecure);
  if (!(url instanceof URL)) return { ok: false, error: url };
  const signal = AbortSignal.timeout(opts.timeoutMs ?? 5_000);
  try {
    for (let hop = 0; ; hop++) {
      const res = await fetchFn(url.href, {
        headers: { accept: "application/json" },
        redirect: "manual",
        cache: "no-store",
        signal,
      });
      if (REDIRECTS.has(res.status)) {
        await res.body?.cancel();
        if (hop >= MAX_REDIRECTS) return fail("http_status", `GET ${uri}: more than ${MAX_REDIRECTS} redirects`);
        const next = redirectTarget(res, url, allowInsecure);
        if (!(next instanceof URL)) return { ok: false, error: next };
        url = next;
        continue;
      }
      if (res.status !== 200) {
        await res.body?.cancel();
        return fail("http_status", `GET ${url.href} answered ${res.status}`);
      }
      const bytes = await readBounded(res, MAX_DOCUMENT_BYTES);
      if (bytes === null) return fail("too_large", `GET ${url.href}: document larger than ${MAX_DOCUMENT_BYTES} bytes`);
      try {
        return { ok: true, value: JSON.parse(utf8Decode(bytes)) };
      } catch {
        return fail("not_json", `GET ${url.href}: body is not UTF-8 JSON`);
      }
    }
  } catch (err) {
    return fail("fetch_failed", `GET ${url.href} failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}
