/**
 * The outbound half of the credential proxy (POST /v1/credentials/{ref}/use): builds the upstream
 * request with the value injected, fetches it with a timeout and byte caps, and scrubs the value
 * out of what comes back. Plain functions over bytes and headers; authorisation is in ops/use.ts.
 */
import { VaultError } from "../../worker/contract/errors";
import { readBounded } from "../../worker/core/federation/document-fetch";
import type { Inject, UsePolicy } from "../../worker/contract/schemas/use";

/**
 * Request headers never forwarded: hop-by-hop ones (RFC 9110 §7.6.1), ones the runtime sets, and
 * every credential-bearing one. A caller's own Authorization, Cookie or Proxy-Authorization never
 * rides along with a vault-injected value, wherever the value is injected: the upstream must see
 * exactly one credential, the vault's, so a caller cannot smuggle another or confuse precedence.
 */
const DROPPED_REQUEST_HEADERS = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
  "content-length",
  "authorization",
  "cookie",
  "proxy-authorization",
  "forwarded",
  "x-forwarded-for",
  "x-forwarded-host",
  "x-forwarded-proto",
  "x-real-ip",
]);

/** Response headers never returned: hop-by-hop, and framing that no longer applies to the re-encoded body. */
const DROPPED_RESPONSE_HEADERS = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "content-length",
  "content-encoding",
]);

/** Smallest value whose encodings are scrubbed too: shorter ones would match ordinary text by chance. */
export const MIN_ENCODED_SCRUB_BYTES = 8;

/** The replacement for a scrubbed value. */
export const SCRUBBED = "[REDACTED:ghostvault]";

/** Bytes as a binary string (one char per byte), so any body can be searched without decoding it. */
export function binary(bytes: Uint8Array): string {
  let out = "";
  // apply() takes the typed array as is; spreading it runs the iterator and was ~15× slower
  // (2.5 ms for 64 KB, twice per proxied answer; bench/results/proxy-notes.md). 8 KB chunks stay
  // far below the engine's argument-count limit.
  for (let i = 0; i < bytes.length; i += 0x2000)
    out += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x2000) as unknown as number[]);
  return out;
}

function fromBinary(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

/**
 * The forms of `value` to remove from a response: the raw bytes always; for values of at least
 * MIN_ENCODED_SCRUB_BYTES also base64 (padded and not), base64url, hex in both cases, URL
 * encoding (both percent-hex cases) and form encoding (the query injection's own spelling). Longest first, so a form containing another is removed whole.
 */
export function scrubForms(value: string, inject?: Inject): string[] {
  const bytes = new TextEncoder().encode(value);
  const raw = binary(bytes);
  const forms = new Set([raw]);
  // HTTP basic sends base64("user:value"), which contains no encoding of the value alone.
  if (inject?.type === "basic") forms.add(basicToken(inject.username, value));
  if (bytes.length >= MIN_ENCODED_SCRUB_BYTES) {
    const b64 = btoa(raw);
    const unpadded = b64.replace(/=+$/, "");
    const url = unpadded.replace(/\+/g, "-").replace(/\//g, "_");
    const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
    const pct = encodeURIComponent(value);
    // application/x-www-form-urlencoded, as URLSearchParams writes a query value (space as '+').
    const form = new URLSearchParams([["", value]]).toString().slice(1);
    for (const f of [
      b64,
      unpadded,
      url,
      hex,
      hex.toUpperCase(),
      pct,
      pct.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
      form,
    ])
      forms.add(binary(new TextEncoder().encode(f)));
  }
  return [...forms].filter((f) => f.length > 0).sort((a, b) => b.length - a.length);
}

/** The RFC 7617 credentials of HTTP basic authentication: base64 of the UTF-8 `user:password`. */
function basicToken(username: string, password: string): string {
  return btoa(binary(new TextEncoder().encode(`${username}:${password}`)));
}

/** Removes every form from `bytes`; reports whether anything was removed. */
export function scrubBytes(bytes: Uint8Array, forms: readonly string[]): { bytes: Uint8Array; scrubbed: boolean } {
  let text = binary(bytes);
  let scrubbed = false;
  for (const form of forms) {
    if (!text.includes(form)) continue;
    scrubbed = true;
    text = text.split(form).join(SCRUBBED);
  }
  return scrubbed ? { bytes: fromBinary(text), scrubbed } : { bytes, scrubbed };
}

/** The upstream request's URL and headers with the value injected where the policy says. */
export function injectRequest(
  url: URL,
  callerHeaders: Record<string, string>,
  inject: Inject,
  value: string,
): { url: URL; headers: Headers } {
  const headers = new Headers();
  const injectedName = inject.type === "header" ? inject.name.toLowerCase() : null;
  for (const [name, v] of Object.entries(callerHeaders)) {
    const lower = name.toLowerCase();
    if (DROPPED_REQUEST_HEADERS.has(lower) || lower === injectedName || lower.startsWith("cf-")) continue;
    headers.set(lower, v);
  }
  const out = new URL(url);
  if (inject.type === "header") headers.set(inject.name, inject.template.split("{value}").join(value));
  if (inject.type === "basic") headers.set("authorization", `Basic ${basicToken(inject.username, value)}`);
  if (inject.type === "query") {
    // The caller's own parameter of that name is replaced, never sent beside the vault's.
    out.searchParams.delete(inject.name);
    out.searchParams.append(inject.name, value);
  }
  return { url: out, headers };
}

/** What came back from upstream, before scrubbing. */
export interface UpstreamReply {
  status: number;
  headers: [string, string][];
  body: Uint8Array;
}

/**
 * Fetches once, never following a redirect (`redirect: "manual"`: a 3xx comes back to the caller,
 * so the value is never sent to an origin the policy did not name). The timeout is raced rather
 * than trusted to the signal alone, as in worker/core/kms/http.ts: a service binding may not stop on it.
 */
export async function fetchUpstream(
  send: (req: Request) => Promise<Response>,
  req: Request,
  policy: UsePolicy,
): Promise<UpstreamReply> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new VaultError("upstream_timeout", `the upstream did not answer within ${policy.timeout_ms} ms`));
    }, policy.timeout_ms);
  });
  const exchange = (async (): Promise<UpstreamReply> => {
    let response: Response;
    try {
      response = await send(new Request(req, { signal: controller.signal, redirect: "manual" }));
    } catch {
      throw new VaultError("upstream_error", "the upstream could not be reached");
    }
    let body: Uint8Array | null;
    try {
      body = await readBounded(response, policy.max_response_bytes);
    } catch {
      throw new VaultError("upstream_error", "the upstream response broke off before its end");
    }
    if (body === null)
      throw new VaultError(
        "upstream_error",
        `the upstream response is larger than this credential's max_response_bytes (${policy.max_response_bytes})`,
      );
    const headers = [...response.headers].filter(([name]) => !DROPPED_RESPONSE_HEADERS.has(name.toLowerCase()));
    return { status: response.status, headers, body };
  })();
  exchange.catch(() => {});
  timedOut.catch(() => {});
  try {
    return await Promise.race([exchange, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/** Scrubs the reply's headers and body; header values are joined per name as the Fetch API does. */
export function scrubReply(
  reply: UpstreamReply,
  forms: readonly string[],
): { headers: Record<string, string>; body: Uint8Array; scrubbed: boolean } {
  let scrubbed = false;
  const headers: Record<string, string> = {};
  for (const [name, value] of reply.headers) {
    // workerd hands header values over decoded (UTF-8 where they were), so search for each form
    // both as text and as its bytes, one char per byte.
    let text = value;
    for (const form of forms) {
      for (const needle of new Set([new TextDecoder().decode(fromBinary(form)), form])) {
        if (!text.includes(needle)) continue;
        scrubbed = true;
        text = text.split(needle).join(SCRUBBED);
      }
    }
    headers[name] = headers[name] === undefined ? text : `${headers[name]}, ${text}`;
  }
  const body = scrubBytes(reply.body, forms);
  return { headers, body: body.bytes, scrubbed: scrubbed || body.scrubbed };
}
