import {
  openCredentialValueWithDek,
  unwrapDekKey,
  type CredentialContext,
  type SealedCredentialValue,
  type TenantKek,
} from "../worker/core/crypto";
import type { CredentialRow, CredentialVersionRow } from "../worker/core/db/credentials";

/** A credential and its current version's ciphertext, as the lease path needs them. */
export interface CachedCredential {
  credential: CredentialRow;
  current: CredentialVersionRow;
}

const NO_COPIES: CredentialCopies = { get: () => undefined, keep: () => undefined, drop: () => undefined };

const MAX_ENTRIES = 1000;
const TTL_MS = 60_000;

/** The object's stored copies of credential reads (storage/credential-copies.ts), as the cache uses them. */
export interface CredentialCopies {
  get(ref: string): CachedCredential | undefined;
  /** Keeps a read that agrees with the object's head (a no-op otherwise). */
  keep(value: CachedCredential): void;
  /** Drops one credential's copy, or every copy. */
  drop(credentialId?: string): void;
}

/**
 * The lease hot path's D1 read, cached in the Durable Object's memory. Sound because the tenant's
 * Durable Object is the only writer of its D1 rows (DESIGN.md "Shape"): every write calls
 * `invalidate()` after it lands, and a read that started before an invalidation is not cached
 * (generation check), so a stale row can never be stored. Values stay encrypted here; the TTL
 * bounds staleness if rows are ever changed out of band.
 */
export class CredentialCache {
  #entries = new Map<string, { value: CachedCredential; expiresAt: number }>();
  #generation = 0;
  /**
   * Unwrapped DEKs as non-extractable, decrypt-only CryptoKeys, one per credential version and
   * KEK version (the same exposure class as the KEKs the KekCache holds), each with the exact
   * wrapped DEK it came from: a rewrapped or replaced row never meets an old key. Cleared with
   * the credential entries by `invalidate()`, which every credential write (rotation, purge,
   * delete), every KEK-sweep batch and every KEK destruction calls.
   */
  #deks = new Map<string, { wrappedDek: Uint8Array; key: CryptoKey; expiresAt: number }>();

  /** `copies`: the object's stored copies; a cache built outside an object (a unit test) keeps none. */
  constructor(
    private readonly now: () => number,
    private readonly copies: CredentialCopies = NO_COPIES,
  ) {}

  /**
   * The credential by id or name: from memory, else from the object's stored copy, else through
   * `load` (one D1 round trip), whose answer is kept in both unless an invalidation came meanwhile.
   */
  async get(ref: string, load: () => Promise<CachedCredential | undefined>): Promise<CachedCredential | undefined> {
    const hit = this.#entries.get(ref);
    if (hit && hit.expiresAt > this.now()) return hit.value;
    const copied = this.copies.get(ref);
    if (copied) {
      this.#remember(ref, copied);
      return copied;
    }
    const generation = this.#generation;
    const value = await load();
    if (value && generation === this.#generation) {
      this.#remember(ref, value);
      this.copies.keep(value);
    }
    return value;
  }

  #remember(ref: string, value: CachedCredential): void {
    if (this.#entries.size >= MAX_ENTRIES) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(ref, { value, expiresAt: this.now() + TTL_MS });
  }

  /** Stores a credential's rows as a write just put them in D1 (a create), so its first lease reads no D1. */
  written(value: CachedCredential): void {
    this.copies.keep(value);
  }

  #writing = new Map<string, number>();

  /**
   * Runs a write of one credential's rows, marked as in progress until it settles. D1 and the
   * object's head are written one after the other (D1 cannot join the object's transaction), so a
   * version disagreement seen while a write is in progress is a race, not tampering.
   */
  async writing<T>(credentialId: string, write: () => Promise<T>): Promise<T> {
    this.#writing.set(credentialId, (this.#writing.get(credentialId) ?? 0) + 1);
    try {
      return await write();
    } finally {
      const left = this.#writing.get(credentialId)! - 1;
      if (left === 0) this.#writing.delete(credentialId);
      else this.#writing.set(credentialId, left);
    }
  }

  /** Whether a write of this credential is in progress. */
  isWriting(credentialId: string): boolean {
    return this.#writing.has(credentialId);
  }

  /**
   * Decrypts a version's value, unwrapping its DEK under `kek` only on a miss. The caller still
   * fetches `kek` first (from the KekCache, which refuses a destroyed version), so a cached DEK
   * never outlives its KEK's availability. As for rows, a DEK unwrapped across an invalidation is
   * used once and not kept.
   * @throws DecryptionError as `openCredentialValue` does.
   */
  async openValue(version: SealedCredentialValue, kek: TenantKek, aad: CredentialContext): Promise<Uint8Array> {
    const id = `${aad.credentialId}/${aad.version}/${kek.version}`;
    const hit = this.#deks.get(id);
    if (hit && hit.expiresAt > this.now() && sameBytes(hit.wrappedDek, version.wrappedDek))
      return openCredentialValueWithDek(version.valueBlob, hit.key, aad);
    const generation = this.#generation;
    const key = await unwrapDekKey(version.wrappedDek, kek, aad);
    const plaintext = await openCredentialValueWithDek(version.valueBlob, key, aad);
    if (generation === this.#generation) {
      if (this.#deks.size >= MAX_ENTRIES) this.#deks.delete(this.#deks.keys().next().value!);
      this.#deks.set(id, { wrappedDek: version.wrappedDek.slice(), key, expiresAt: this.now() + TTL_MS });
    }
    return plaintext;
  }

  /** How many unwrapped DEKs are held (tests check eviction with it; no key material). */
  get dekCount(): number {
    return this.#deks.size;
  }

  /**
   * Forgets everything in memory, unwrapped DEKs included, and the stored copies: of
   * `credentialId` only when given (a write of that credential's rows), else all of them (a KEK
   * sweep batch or destruction, an integrity violation). Call after every write of the tenant's
   * credential rows or KEKs.
   */
  invalidate(credentialId?: string): void {
    this.#generation++;
    this.#entries.clear();
    this.#deks.clear();
    this.copies.drop(credentialId);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
