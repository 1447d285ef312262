import { z } from "zod";
import { KmsError } from "./provider";

/** Sends one HTTP request: global `fetch`, or a service binding's `fetch` in development. */
export type KmsFetch = (request: Request) => Promise<Response>;

/** Status and body of one KMS (or token endpoint) reply, read whole. */
export interface RawReply {
  status: number;
  text: string;
}

/**
 * Builds, sends and reads one request, bounded by `timeoutMs` as a whole (a stalled body read
 * counts too). Network failures become KmsError "unavailable", the deadline "timeout".
 */
export async function timedExchange(
  send: KmsFetch,
  label: string,
  timeoutMs: number,
  build: (signal: AbortSignal) => Promise<Request> | Request,
): Promise<RawReply> {
  const signal = AbortSignal.timeout(timeoutMs);
  const started = Date.now();
  const timedOut = new Promise<never>((_, reject) => {
    const onAbort = () => reject(new KmsError("timeout", `${label} timed out after ${timeoutMs} ms`));
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  const exchange = (async () => {
    const request = await build(signal);
    try {
      const response = await send(request);
      // Read as bytes: workerd warns when .text() meets a non-text Content-Type such as
      // application/x-amz-json-1.1. Invalid UTF-8 becomes U+FFFD and then fails JSON/zod checks.
      const text = new TextDecoder().decode(await response.arrayBuffer());
      // A reply that arrived after the deadline is still a timeout: on a starved machine the reply
      // and the abort timer can become due together, and the race below could go either way.
      // (Workers advance Date.now() on I/O, so it reflects when the reply arrived.)
      if (signal.aborted || Date.now() - started >= timeoutMs)
        throw new KmsError("timeout", `${label} timed out after ${timeoutMs} ms`);
      return { status: response.status, text };
    } catch (cause) {
      if (cause instanceof KmsError) throw cause;
      if (signal.aborted) throw new KmsError("timeout", `${label} timed out after ${timeoutMs} ms`);
      throw new KmsError("unavailable", `${label} could not be reached`, { cause });
    }
  })();
  // Raced rather than trusted to the signal alone: not every fetcher (a service binding, a
  // test double) is guaranteed to stop reading a body when the signal fires.
  exchange.catch(() => {}); // the race below reports the outcome; avoid an unhandled rejection
  timedOut.catch(() => {});
  return Promise.race([exchange, timedOut]);
}

/** Parses a 2xx body against `schema`; anything else is KmsError "malformed" naming fields only. */
export function parseSuccess<S extends z.ZodType>(label: string, schema: S, reply: RawReply): z.output<S> {
  let json: unknown;
  try {
    json = JSON.parse(reply.text);
  } catch {
    throw new KmsError("malformed", `${label} answered ${reply.status} with a body that is not JSON`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    // Field paths only: the issue messages of zod may quote the rejected value.
    const fields = [...new Set(parsed.error.issues.map((i) => i.path.join(".") || "(root)"))];
    throw new KmsError("malformed", `${label} reply is invalid at ${fields.join(", ")}`);
  }
  return parsed.data;
}

/**
 * Reads a JSON body and returns `pick(json)` if it is a short, plain identifier; otherwise
 * `fallback`. Providers put their error code in our messages only through this, so a hostile
 * endpoint cannot smuggle text (or a secret it was sent) into logs.
 */
export function safeErrorCode(text: string, pick: (json: unknown) => unknown, fallback = "UnknownError"): string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return fallback;
  }
  const value = pick(json);
  return typeof value === "string" && /^[A-Za-z][A-Za-z0-9_.]{0,63}$/.test(value) ? value : fallback;
}

/**
 * The common status classification: 429 or a provider's throttle code → "throttled", 5xx →
 * "unavailable", other 4xx → "refused", anything else (1xx/3xx) → "malformed".
 */
export function classifyFailure(label: string, status: number, code: string, throttled: boolean): KmsError {
  if (status === 429 || throttled) return new KmsError("throttled", `${label} throttled (${status} ${code})`);
  if (status >= 500) return new KmsError("unavailable", `${label} failed (${status} ${code})`);
  if (status >= 400) return new KmsError("refused", `${label} refused (${status} ${code})`);
  return new KmsError("malformed", `${label} answered with unexpected status ${status}`);
}
