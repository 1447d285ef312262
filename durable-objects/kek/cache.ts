import { importTenantKek, type TenantKek } from "../../worker/core/crypto";
import { KmsError, type KmsProvider } from "../../worker/core/kms/provider";

/** What the cache needs from its Durable Object. */
export interface KekCacheOptions {
  tenantId: string;
  kms: KmsProvider;
  /** Reads the KMS ciphertext of a KEK version (D1), or undefined if missing or destroyed. */
  loadWrapped: (version: number) => Promise<Uint8Array | undefined>;
  /** The object's own copy of that ciphertext (storage/kek-copies.ts), tried before D1. */
  copies: {
    get(version: number): Uint8Array | undefined;
    /** Keeps what D1 gave (a no-op for a version whose destruction is under way). */
    keep(version: number, wrapped: Uint8Array): void;
    drop(version: number): void;
  };
  ttlMs: number;
  now: () => number;
}

interface Entry {
  kek: TenantKek;
  expiresAt: number;
}

/**
 * Unwrapped tenant KEKs, held in the Durable Object's memory as non-extractable CryptoKeys for a
 * bounded time. Concurrent misses for one version share a single KMS Decrypt (single flight), so
 * a burst of cold requests costs one KMS call, not one each.
 */
export class KekCache {
  readonly #opts: KekCacheOptions;
  readonly #entries = new Map<number, Entry>();
  readonly #inflight = new Map<number, Promise<TenantKek>>();

  constructor(opts: KekCacheOptions) {
    this.#opts = opts;
  }

  /** The KEK of `version`, from memory or unwrapped through the KMS. */
  async get(version: number): Promise<TenantKek> {
    const hit = this.#entries.get(version);
    if (hit && hit.expiresAt > this.#opts.now()) return hit.kek;
    this.#entries.delete(version);
    let pending = this.#inflight.get(version);
    if (!pending) {
      pending = this.#unwrap(version).finally(() => this.#inflight.delete(version));
      this.#inflight.set(version, pending);
    }
    return pending;
  }

  /** True when no version is cached unexpired or being unwrapped: a cold object, or one idle past the TTL. */
  get idle(): boolean {
    const now = this.#opts.now();
    if (this.#inflight.size > 0) return false;
    // Checked on every value operation: no array is built for it.
    for (const entry of this.#entries.values()) if (entry.expiresAt > now) return false;
    return true;
  }

  /** Caches a KEK just generated, so the version is usable without a round trip to the KMS. */
  async put(version: number, raw: Uint8Array): Promise<TenantKek> {
    const kek = await importTenantKek(raw, version);
    raw.fill(0);
    this.#entries.set(version, { kek, expiresAt: this.#opts.now() + this.#opts.ttlMs });
    return kek;
  }

  /** Drops a version (it was destroyed). */
  forget(version: number): void {
    this.#entries.delete(version);
  }

  /**
   * Unwraps the object's copy of the version's ciphertext, or D1's when there is no copy. A copy
   * the KMS refuses (left stale by a root-key move that ended between its D1 write and the copy's,
   * or changed in storage) is dropped and D1's ciphertext unwrapped instead, then kept: at most one
   * refused KMS call, after which the copy is right again. Any other failure (timeout, outage) is
   * the caller's 503, with the copy kept.
   */
  async #unwrap(version: number): Promise<TenantKek> {
    const context = { tenantId: this.#opts.tenantId, kekVersion: version };
    const copy = this.#opts.copies.get(version);
    if (copy) {
      try {
        return await this.put(version, await this.#opts.kms.unwrapKek(copy, context));
      } catch (error) {
        if (!(error instanceof KmsError && error.kind === "refused")) throw error;
        this.#opts.copies.drop(version);
      }
    }
    const wrapped = await this.#opts.loadWrapped(version);
    if (!wrapped) throw new Error(`tenant KEK version ${version} is missing or destroyed`);
    const raw = await this.#opts.kms.unwrapKek(wrapped, context);
    this.#opts.copies.keep(version, wrapped);
    return this.put(version, raw);
  }
}
