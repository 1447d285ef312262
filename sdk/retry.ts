/**
 * Retry policy: jittered exponential backoff on 429, 503 and network errors, for idempotent
 * requests only (see {@link isRetryable} in http.ts for which requests qualify).
 */

/** Retry settings of a {@link VaultClient}. */
export interface RetryOptions {
  /** Retries after the first attempt; 0 disables retrying. Default 3. */
  maxRetries?: number;
  /** Backoff base: attempt n waits a random time in [0, min(maxDelayMs, baseDelayMs * 2^n)]. Default 200. */
  baseDelayMs?: number;
  /** Cap of one backoff delay. Default 5000. */
  maxDelayMs?: number;
  /**
   * The longest `Retry-After` the client will wait. A server asking for longer gets no retry:
   * the call fails with its 429/503 and the asked delay in `VaultError.retryAfterMs`. Default 30000.
   */
  maxRetryAfterMs?: number;
  /** Waits `ms` milliseconds; injectable for tests. Default setTimeout. */
  sleep?: (ms: number) => Promise<void>;
  /** Random number in [0, 1) for the jitter; injectable for tests. Default Math.random. */
  random?: () => number;
}

/** {@link RetryOptions} with every default filled in. */
export type RetryPolicy = Required<RetryOptions>;

/** Fills in the defaults. */
export function retryPolicy(options: RetryOptions = {}): RetryPolicy {
  return {
    maxRetries: options.maxRetries ?? 3,
    baseDelayMs: options.baseDelayMs ?? 200,
    maxDelayMs: options.maxDelayMs ?? 5000,
    maxRetryAfterMs: options.maxRetryAfterMs ?? 30_000,
    sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    random: options.random ?? Math.random,
  };
}

/**
 * "Full jitter" backoff (AWS Architecture Blog, "Exponential Backoff And Jitter"): spreads the
 * retries of many clients that failed together instead of having them return in lockstep.
 * @param retry 0 for the first retry.
 */
export function backoffDelay(policy: RetryPolicy, retry: number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  return Math.floor(policy.random() * ceiling);
}

/**
 * Parses `Retry-After` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date. Returns milliseconds
 * (0 for a date in the past), or undefined when absent or unparseable.
 */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
