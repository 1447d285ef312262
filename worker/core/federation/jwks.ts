/**
 * JSON Web Key Sets (RFC 7517 §5): schema, a bounded-lifetime cache with a rate-limited refetch
 * for unknown `kid`s, and OpenID Connect Discovery of an issuer's `jwks_uri`.
 *
 * Nothing here throws on network or document problems: every failure comes back as a
 * {@link JwksError} with a closed `code`, for the caller to map to its own error.
 */
import { z } from "zod";
import {
  checkUrl,
  fail,
  fetchJsonDocument,
  type DocumentFetchOptions,
  type FetchFn,
  type JwksError,
} from "./document-fetch";
import { OutboundBudget } from "./outbound";

export type { DocumentFetchOptions, FetchFn, JwksError, JwksErrorCode } from "./document-fetch";

const Base64url = z
  .string()
  .regex(/^[A-Za-z0-9_-]+$/)
  .max(2048);

/**
 * One public JWK (RFC 7517 §4, RFC 7518 §6) as far as this verifier reads it. Unknown members
 * (`x5c`, `x5t`, ...) are stripped. `d` is kept only so that {@link JwksSchema} can drop the key.
 */
export const JwkSchema = z.object({
  kty: z.string(),
  kid: z.string().max(256).optional(),
  use: z.string().optional(),
  key_ops: z.array(z.string()).optional(),
  alg: z.string().optional(),
  n: Base64url.optional(),
  e: Base64url.optional(),
  crv: z.string().optional(),
  x: Base64url.optional(),
  y: Base64url.optional(),
  d: z.unknown().optional(),
});

/** A public JWK after {@link JwkSchema}. */
export type Jwk = z.output<typeof JwkSchema>;

/** Most keys a JWKS may hold; real issuers publish a handful. */
export const MAX_JWKS_KEYS = 64;

/**
 * A JWK Set document. RFC 7517 §5: keys whose members are missing or not understood SHOULD be
 * ignored rather than failing the whole set, so invalid entries are dropped. A key carrying the
 * private exponent `d` is dropped too: if the private half is public, anyone can sign with it.
 */
export const JwksSchema = z.object({ keys: z.array(z.unknown()).max(MAX_JWKS_KEYS) }).transform(({ keys }) => ({
  keys: keys.flatMap((k): Jwk[] => {
    const parsed = JwkSchema.safeParse(k);
    return parsed.success && parsed.data.d === undefined ? [parsed.data] : [];
  }),
}));

/** A parsed JWK Set, as {@link verifyJwt} takes it. */
export type JwkSet = z.output<typeof JwksSchema>;

/** A JWKS, or why there is none. */
export type JwksResult = { ok: true; jwks: JwkSet } | { ok: false; error: JwksError };

/** Fetches and validates one JWKS document. Never throws. */
export async function fetchJwks(uri: string, fetchFn: FetchFn, opts: DocumentFetchOptions = {}): Promise<JwksResult> {
  const doc = await fetchJsonDocument(uri, fetchFn, opts);
  if (!doc.ok) return doc;
  const parsed = JwksSchema.safeParse(doc.value);
  if (!parsed.success) return fail("invalid_document", `${uri} is not a JWK Set (RFC 7517 §5)`);
  return { ok: true, jwks: parsed.data };
}

/** The issuer's `jwks_uri`, or why discovery failed. */
export type DiscoveryResult = { ok: true; jwksUri: string } | { ok: false; error: JwksError };

const DiscoverySchema = z.object({ issuer: z.string(), jwks_uri: z.string() });

/**
 * OpenID Connect Discovery 1.0 §4: reads `<issuer>/.well-known/openid-configuration` (a trailing
 * `/` on the issuer is removed first) and returns its `jwks_uri`. §4.3: the document's `issuer`
 * MUST be identical to the configured one; a mismatch is refused, not normalised. `jwks_uri` must be
 * https unless `allowInsecure`. Never throws.
 */
export async function discoverJwksUri(
  issuer: string,
  fetchFn: FetchFn,
  opts: DocumentFetchOptions = {},
): Promise<DiscoveryResult> {
  const base = checkUrl(issuer, opts.allowInsecure ?? false);
  if (!(base instanceof URL)) return { ok: false, error: base };
  // OpenID Connect Core §2: an issuer identifier has no query or fragment.
  if (base.search !== "" || base.hash !== "") return fail("insecure_uri", "issuer must not have a query or fragment");
  const configUri = `${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;
  const doc = await fetchJsonDocument(configUri, fetchFn, opts);
  if (!doc.ok) return doc;
  const parsed = DiscoverySchema.safeParse(doc.value);
  if (!parsed.success) return fail("invalid_document", `${configUri} lacks string issuer and jwks_uri`);
  if (parsed.data.issuer !== issuer) {
    return fail(
      "issuer_mismatch",
      `discovery issuer ${JSON.stringify(parsed.data.issuer)} is not ${JSON.stringify(issuer)}`,
    );
  }
  const jwksUrl = checkUrl(parsed.data.jwks_uri, opts.allowInsecure ?? false);
  if (!(jwksUrl instanceof URL)) return { ok: false, error: jwksUrl };
  return { ok: true, jwksUri: jwksUrl.href };
}

/** The answer when the tenant's outbound fetch budget is spent; nothing was fetched. */
const BUDGET_SPENT = fail("budget_exceeded", "this tenant's outbound fetch budget is spent for this minute");

/** Configuration of a {@link JwksCache}. */
export interface JwksCacheOptions extends DocumentFetchOptions {
  /** Fetches documents; inject a fake in tests or a service binding's `fetch`. */
  fetch: FetchFn;
  /** Milliseconds since the epoch; default `Date.now`. */
  now?: () => number;
  /** How long a fetched JWKS is served, in ms: default 10 min, at most 24 h. */
  ttlMs?: number;
  /** Least time between fetches of one URI forced by an unknown `kid`, in ms: default 60 s. */
  minRefetchMs?: number;
  /** Most URIs remembered; the least recently used is forgotten beyond it. Default 64. */
  maxEntries?: number;
  /** How long a failed fetch or discovery is answered from memory without fetching, in ms: default 60 s (at most `ttlMs`). */
  negativeTtlMs?: number;
  /** Most documents (JWKS or discovery) fetched per minute by this cache, i.e. per tenant: default 20. */
  fetchesPerMinute?: number;
}

interface CacheEntry {
  jwks?: JwkSet;
  fetchedAt?: number;
  lastAttemptAt: number;
  /** The last attempt's failure, answered again until `negativeTtlMs` after `lastAttemptAt`. */
  error?: JwksError;
  inflight?: Promise<JwksResult>;
}

interface DiscoveryEntry {
  result: DiscoveryResult;
  at: number;
  inflight?: Promise<DiscoveryResult>;
}

/**
 * Per-`jwks_uri` JWKS cache. A fetched set is served for at most `ttlMs` and never after, even if
 * a refetch fails (a stale key set could still trust a key the issuer has withdrawn). Concurrent
 * misses share one fetch. {@link refreshForUnknownKid} lets a verifier that met an unknown `kid`
 * pick up a key rotation early, but at most once per `minRefetchMs` per URI, so a flood of tokens
 * with invented `kid`s cannot turn into a flood of requests to the issuer.
 *
 * Failures are remembered for `negativeTtlMs`, so a broken or hostile issuer costs one fetch per
 * window, not one per request; and every fetch (JWKS or discovery, via {@link jwksUriFor}) spends
 * from one budget of `fetchesPerMinute`: over it, the answer is `budget_exceeded` without a fetch.
 *
 * Instances are meant to live for a Durable Object's lifetime; they hold no secrets.
 */
export class JwksCache {
  readonly #opts: DocumentFetchOptions;
  readonly #fetch: FetchFn;
  readonly #now: () => number;
  readonly #ttlMs: number;
  readonly #minRefetchMs: number;
  readonly #maxEntries: number;
  readonly #negativeTtlMs: number;
  readonly #budget: OutboundBudget;
  readonly #entries = new Map<string, CacheEntry>();
  readonly #discovered = new Map<string, DiscoveryEntry>();

  /** @throws RangeError on a non-positive or over-long `ttlMs`, or a negative `minRefetchMs`. */
  constructor(options: JwksCacheOptions) {
    const {
      fetch,
      now,
      ttlMs = 600_000,
      minRefetchMs = 60_000,
      maxEntries = 64,
      negativeTtlMs = Math.min(60_000, ttlMs),
      fetchesPerMinute = 20,
      ...opts
    } = options;
    if (!(ttlMs > 0 && ttlMs <= 86_400_000)) throw new RangeError("ttlMs must be in (0, 24 h]");
    if (!(minRefetchMs >= 0)) throw new RangeError("minRefetchMs must be >= 0");
    if (!(maxEntries >= 1)) throw new RangeError("maxEntries must be >= 1");
    this.#opts = opts;
    this.#fetch = fetch;
    this.#now = now ?? Date.now;
    this.#ttlMs = ttlMs;
    this.#minRefetchMs = minRefetchMs;
    this.#maxEntries = maxEntries;
    if (!(negativeTtlMs >= 0 && negativeTtlMs <= ttlMs)) throw new RangeError("negativeTtlMs must be in [0, ttlMs]");
    this.#negativeTtlMs = negativeTtlMs;
    this.#budget = new OutboundBudget(fetchesPerMinute);
  }

  /** The JWKS at `uri`, from cache while younger than `ttlMs`, fetched otherwise. Never throws. */
  async get(uri: string): Promise<JwksResult> {
    const entry = this.#touch(uri);
    if (entry?.jwks && entry.fetchedAt !== undefined && this.#now() - entry.fetchedAt < this.#ttlMs) {
      return { ok: true, jwks: entry.jwks };
    }
    if (entry?.error && !entry.inflight && this.#now() - entry.lastAttemptAt < this.#negativeTtlMs)
      return { ok: false, error: entry.error };
    return this.#load(uri);
  }

  /**
   * The `jwks_uri` of `issuer` by OpenID Connect Discovery ({@link discoverJwksUri}), remembered
   * for `ttlMs` when found and `negativeTtlMs` when not; concurrent misses share one fetch.
   */
  async jwksUriFor(issuer: string): Promise<DiscoveryResult> {
    const hit = this.#discovered.get(issuer);
    if (hit?.inflight) return hit.inflight;
    if (hit && this.#now() - hit.at < (hit.result.ok ? this.#ttlMs : this.#negativeTtlMs)) return hit.result;
    const at = this.#now();
    // Over budget: answered without fetching, and not remembered, so the next window can fetch.
    if (!this.#budget.take(at)) return BUDGET_SPENT;
    const entry: DiscoveryEntry = hit ?? { result: BUDGET_SPENT, at };
    entry.inflight = discoverJwksUri(issuer, this.#fetch, this.#opts).then((result) => {
      entry.result = result;
      entry.at = at;
      entry.inflight = undefined;
      return entry.result;
    });
    this.#discovered.delete(issuer);
    this.#discovered.set(issuer, entry);
    while (this.#discovered.size > this.#maxEntries) this.#discovered.delete(this.#discovered.keys().next().value!);
    return entry.inflight;
  }

  /**
   * Refetches `uri` because a token named a `kid` the cached set lacks, unless any fetch of `uri`
   * (including a TTL refresh) started less than `minRefetchMs` ago. Returns true only when a new
   * set was fetched and stored; a failed attempt still counts against the rate limit. Never throws.
   */
  async refreshForUnknownKid(uri: string): Promise<boolean> {
    const entry = this.#touch(uri);
    if (entry?.inflight) return (await entry.inflight).ok;
    if (entry && this.#now() - entry.lastAttemptAt < this.#minRefetchMs) return false;
    return (await this.#load(uri)).ok;
  }

  /** Moves `uri` to the most-recently-used end. */
  #touch(uri: string): CacheEntry | undefined {
    const entry = this.#entries.get(uri);
    if (entry) {
      this.#entries.delete(uri);
      this.#entries.set(uri, entry);
    }
    return entry;
  }

  #load(uri: string): Promise<JwksResult> {
    let entry = this.#entries.get(uri);
    if (entry?.inflight) return entry.inflight;
    if (!entry) {
      entry = { lastAttemptAt: this.#now() };
      this.#entries.set(uri, entry);
      while (this.#entries.size > this.#maxEntries) {
        const oldest = this.#entries.keys().next();
        if (oldest.done) break;
        this.#entries.delete(oldest.value);
      }
    }
    const target = entry;
    const startedAt = this.#now();
    // Over budget: answered without fetching; not remembered as the entry's failure.
    if (!this.#budget.take(startedAt)) return Promise.resolve(BUDGET_SPENT);
    target.lastAttemptAt = startedAt;
    const pending = fetchJwks(uri, this.#fetch, this.#opts).then((result) => {
      if (result.ok) {
        target.jwks = result.jwks;
        // Age counts from the request, so a slow response is not served beyond its bound.
        target.fetchedAt = startedAt;
        target.error = undefined;
      } else {
        target.error = result.error;
      }
      target.inflight = undefined;
      return result;
    });
    target.inflight = pending;
    return pending;
  }
}
