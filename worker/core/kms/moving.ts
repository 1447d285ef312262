import { KmsError, type KekContext, type KmsProvider } from "./provider";

/**
 * The KMS of a vault in the middle of a root-key move (issue 13 §2): to another key id or name
 * within a provider, or to another provider. `current` is the new root, `previous` the old one
 * (the `KMS_PREVIOUS_*` bindings, worker/core/kms/settings.ts); `ghostvault operator
 * rotate-root` rewraps every tenant's KEKs through `rewrapKek`, after which the operator removes
 * the previous root and `current` alone suffices.
 *
 * The one fallback path of the vault: the previous root is asked only when the current one
 * answered `refused` (this ciphertext is not mine). A timeout, 5xx or throttle under the current
 * root is rethrown (503 `kms_unavailable`): falling back then would hide an outage of the new
 * root, and could not tell whether the KEK is under it.
 *
 * Cost: a wrapped KEK does not say which root made it, so a KEK still under the previous root
 * costs one refused call to the current root before the previous one opens it. The tenant's KEK
 * cache holds the result, so this is once per KEK version per cache lifetime, and only until the
 * rotate-root job has moved that tenant. (Recording the root per KEK row would save the call but
 * adds a D1 column every reader must trust; the refusal is the KMS's own, authoritative answer.)
 */
export class MovingKmsProvider implements KmsProvider {
  constructor(
    readonly current: KmsProvider,
    readonly previous: KmsProvider,
  ) {}

  /** New KEKs are made under the current root only. */
  generateKek(ctx: KekContext): Promise<{ plaintext: Uint8Array; wrapped: Uint8Array }> {
    return this.current.generateKek(ctx);
  }

  /** Under the current root; under the previous one only if the current one refused. */
  async unwrapKek(wrapped: Uint8Array, ctx: KekContext): Promise<Uint8Array> {
    try {
      return await this.current.unwrapKek(wrapped, ctx);
    } catch (error) {
      if (!isRefusal(error)) throw error;
    }
    return this.previous.unwrapKek(wrapped, ctx);
  }

  /**
   * A KEK already under the current root is rewrapped by it (re-encrypt in the KMS where it has
   * one). Otherwise the previous root opens it and the current one wraps it: the plaintext KEK
   * exists only in this isolate's memory, as it does whenever the vault uses it, and is zeroed.
   */
  async rewrapKek(wrapped: Uint8Array, ctx: KekContext): Promise<Uint8Array> {
    try {
      return await this.current.rewrapKek(wrapped, ctx);
    } catch (error) {
      if (!isRefusal(error)) throw error;
    }
    const plaintext = await this.previous.unwrapKek(wrapped, ctx);
    try {
      return await this.current.wrapKek(plaintext, ctx);
    } finally {
      plaintext.fill(0);
    }
  }

  /** Wraps under the current root. */
  wrapKek(plaintext: Uint8Array, ctx: KekContext): Promise<Uint8Array> {
    return this.current.wrapKek(plaintext, ctx);
  }
}

function isRefusal(error: unknown): boolean {
  return error instanceof KmsError && error.kind === "refused";
}
