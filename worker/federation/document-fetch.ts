/**
 * Bounded GETs of the JSON documents federation depends on (JWKS, OpenID discovery), returning
 * typed failures instead of throwing.
 */
import { utf8Decode } from "../crypto/encoding";

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
  | "issuer_mismatch";

/** A typed failure; `message` is for logs and admins, never includes response bodies. */
export interface JwksError {
  code: JwksErrorCode;
  message: string;
}

/** Options shared by fetches of JWKS and discovery documents. */
export interface DocumentFetchOptions {
  /** Allow `http:` URLs (tests and local development only). Default false. */
  allowInsecure?: boolean;
  /** Abort the request after this long. Default 5 s. */
  timeoutMs?: number;
}

/** Largest JWKS or discovery document read; GitHub's JWKS is under 4 KiB. */
export const MAX_DOCUMENT_BYTES = 64 * 1024;

/** A failed result carrying a {@link JwksError}. */
export function fail(code: JwksErrorCode, message: string): { ok: false; error: JwksError } {
  return { ok: false, error: { code, message } };
}

/** Parses `uri`, requiring https unless insecure URLs are allowed; the error otherwise. */
export function checkUrl(uri: string, allowInsecure: boolean): URL | JwksError {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return { code: "insecure_uri", message: `not a URL: ${JSON.stringify(uri)}` };
  }
  if (url.protocol === "https:" || (allowInsecure && url.protocol === "http:")) return url;
  return { code: "insecure_uri", message: `${url.protocol} URL refused; https is required: ${uri}` };
}

/** Reads at most `max` bytes of a body, cancelling the stream beyond that. */
async function readBounded(res: Response, max: number): Promise<Uint8Array | null> {
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

/** GETs a JSON document with bounds on size and time; never throws. */
export async function fetchJsonDocument(
  uri: string,
  fetchFn: FetchFn,
  opts: DocumentFetchOptions,
): Promise<{ ok: true; value: unknown } | { ok: false; error: JwksError }> {
  const url = checkUrl(uri, opts.allowInsecure ?? false);
  if (!(url instanceof URL)) return { ok: false, error: url };
  try {
    const res = await fetchFn(url.href, {
      headers: { accept: "application/json" },
      // A redirect could move the trust anchor to another host; the configured URL must answer itself.
      redirect: "manual",
      signal: AbortSignal.timeout(opts.timeoutMs ?? 5_000),
    });
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
  } catch (err) {
    return fail("fetch_failed", `GET ${url.href} failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

