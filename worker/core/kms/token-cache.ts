import { z } from "zod";
import { classifyFailure, parseSuccess, safeErrorCode, timedExchange, type KmsFetch } from "./http";

/** An OAuth 2.0 access token and when it stops being usable. */
export interface AccessToken {
  token: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

/**
 * A cached OAuth access token. One token serves every KMS call until `marginMs` before it
 * expires; concurrent misses share one token request (single flight), so a cold burst of KEK
 * unwraps costs one call to the token endpoint, not one each.
 */
export class AccessTokenCache {
  #current: AccessToken | undefined;
  #pending: Promise<AccessToken> | undefined;

  constructor(
    private readonly mint: () => Promise<AccessToken>,
    private readonly marginMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** A token valid for at least `marginMs` more, minted if needed. */
  async get(): Promise<string> {
    const current = this.#current;
    if (current && current.expiresAt - this.marginMs > this.now()) return current.token;
    this.#pending ??= this.mint().finally(() => (this.#pending = undefined));
    const minted = await this.#pending;
    this.#current = minted;
    return minted.token;
  }

  /** Forgets `token` (the KMS answered 401 with it: revoked, or the clock was off). */
  invalidate(token: string): void {
    if (this.#current?.token === token) this.#current = undefined;
  }
}

const TokenReply = z.object({
  access_token: z.string().min(1).max(16_384),
  token_type: z.string().regex(/^bearer$/i),
  // Entra has sent expires_in as a string; Google sends a number.
  expires_in: z.coerce.number().int().positive().max(86_400),
});

/**
 * POSTs an OAuth form (`application/x-www-form-urlencoded`) to a token endpoint and reads the
 * RFC 6749 §5.1 reply. Failures are KmsErrors like any KMS call: the caller cannot tell (and
 * need not) whether the token endpoint or the KMS itself refused.
 */
export async function requestAccessToken(options: {
  url: string;
  form: Record<string, string>;
  label: string;
  timeoutMs: number;
  fetch: KmsFetch;
  now: number;
}): Promise<AccessToken> {
  const reply = await timedExchange(options.fetch, options.label, options.timeoutMs, (signal) => {
    return new Request(options.url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
      body: new URLSearchParams(options.form).toString(),
      signal,
    });
  });
  if (reply.status < 200 || reply.status >= 300) {
    // RFC 6749 §5.2: `error` is a short code (invalid_client, invalid_grant, ...).
    const code = safeErrorCode(reply.text, (json) => (json as { error?: unknown } | null)?.error);
    throw classifyFailure(options.label, reply.status, code, false);
  }
  const parsed = parseSuccess(options.label, TokenReply, reply);
  return { token: parsed.access_token, expiresAt: options.now + parsed.expires_in * 1000 };
}
