import { importTenantKek, type TenantKek } from "../../worker/core/crypto";
import type { KmsProvider } from "../../worker/core/kms/provider";

/** What the cache needs from its Durable Object. */
export interface KekCacheOptions {
  tenantId: string;
  kms: KmsProvider;
  /** Reads the KMS ciphertext of a KEK version (D1), or undefined if missing or destroyed. */
  loadWrapped: (version: number) => Promise<Uint8Array | undefined>;
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
    return this.#inflight.size === 0 && ![...this.#entries.values()].some((e) => e.expiresAt > now);
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

  async #unwrap(version: number): Promise<TenantKek> {
    const wrapped = await this.#opts.loadWrapped(version);
    if (!wrapped) throw new Error(`tenant KEK version ${version} is missing or destroyed`);
    const raw = await this.#opts.kms.unwrapKek(wrapped, { tenantId: this.#opts.tenantId, kekVersion: version });
    return this.put(version, raw);
  }
}
