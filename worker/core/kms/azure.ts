import { z } from "zod";
import { base64urlToBytes, bytesToBase64url, concatBytes } from "../crypto/encoding";
import { classifyFailure, parseSuccess, safeErrorCode, timedExchange, type KmsFetch } from "./http";
import { KmsError, kekContextBytes, type KekContext, type KmsProvider } from "./provider";
import { AccessTokenCache, requestAccessToken } from "./token-cache";

/**
 * Azure Key Vault / Managed HSM over the keys REST API (`wrapkey` / `unwrapkey`), authenticated
 * with an Entra client-credentials token (cached until two minutes before it expires, as the
 * Azure SDK does).
 *
 * wrapKey takes no associated data, so the tenant KEK context cannot ride along as it does on
 * AWS or GCP. The provider binds it with an envelope instead: Key Vault wraps a fresh 32-byte
 * AES key W; W seals the KEK with AES-256-GCM whose AAD is the KEK context plus the envelope
 * header. A wrapped KEK copied to another tenant's or version's row unwraps W fine but fails
 * the GCM check, exactly where AWS would refuse the encryption context. Only the holder of
 * Key Vault unwrap permission can recover W, as only the holder of AWS Decrypt can.
 *
 * Envelope (all lengths big-endian):
 *   0x01 | alg (1 = RSA-OAEP-256, 2 = A256KW) | u8 n | key version (n ASCII bytes)
 *        | u16 m | wrapped W (m bytes) | iv (12) | AES-GCM(W, KEK) (32 + 16 tag)
 * The key version is kept so a KEK wrapped before the vault key was rotated still unwraps.
 */

/** Algorithms the provider wraps with: RSA-OAEP-256 for vault RSA keys, AES-KW for Managed HSM oct keys. */
export const AZURE_WRAP_ALGORITHMS = ["RSA-OAEP-256", "A256KW"] as const;
/** One of `AZURE_WRAP_ALGORITHMS`. */
export type AzureWrapAlgorithm = (typeof AZURE_WRAP_ALGORITHMS)[number];

/** Everything the Key Vault client needs; none of it is read from the environment here. */
export interface AzureKeyVaultOptions {
  /** `https://<vault>.vault.azure.net/keys/<name>[/<version>]` (or `.managedhsm.azure.net`). */
  keyId: string;
  algorithm: AzureWrapAlgorithm;
  /** Entra directory (tenant) id, app (client) id and its secret. */
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** `https://login.microsoftonline.com` in the public cloud. */
  authorityHost: string;
  timeoutMs: number;
  fetch: KmsFetch;
}

/** Key Vault REST api-version; 7.4 is GA for both Key Vault and Managed HSM. */
export const AZURE_API_VERSION = "7.4";
const TOKEN_MARGIN_MS = 2 * 60 * 1000;
const ENVELOPE_VERSION = 0x01;
const ALG_IDS: Record<AzureWrapAlgorithm, number> = { "RSA-OAEP-256": 1, A256KW: 2 };
const IV_BYTES = 12;
const SEALED_KEK_BYTES = 32 + 16;
const LABEL = new TextEncoder().encode("ghostvault-azure-kek/v1");
const VERSION_PATTERN = /^[A-Za-z0-9]{1,64}$/;

const Base64url = z.string().transform((text, ctx) => {
  try {
    // Tolerate padding (some emulators add it); the characters themselves must be base64url.
    const bytes = base64urlToBytes(text.replace(/=+$/, ""));
    if (bytes.length > 0) return bytes;
  } catch {
    // fall through
  }
  ctx.addIssue({ code: "custom", message: "not a non-empty base64url field" });
  return z.NEVER;
});
const KeyOperationReply = z.object({ kid: z.string().min(1), value: Base64url });

/** Splits a key id into the vault origin, key name and optional version. */
export function parseAzureKeyId(keyId: string): { origin: string; name: string; version: string | undefined } {
  const url = new URL(keyId);
  const match = /^\/keys\/([A-Za-z0-9-]{1,127})(?:\/([A-Za-z0-9]{1,64}))?\/?$/.exec(url.pathname);
  if (!match || url.search || url.hash) throw new TypeError("an Azure key id is <vault>/keys/<name>[/<version>]");
  return { origin: url.origin, name: match[1]!, version: match[2] };
}

/** A minimal Key Vault client: wrapKey and unwrapKey, no retries (the Durable Object decides). */
export class AzureKeyVaultClient {
  readonly #options: AzureKeyVaultOptions;
  readonly #key: { origin: string; name: string; version: string | undefined };
  readonly #tokens: AccessTokenCache;

  constructor(options: AzureKeyVaultOptions) {
    this.#options = options;
    this.#key = parseAzureKeyId(options.keyId);
    this.#tokens = new AccessTokenCache(() => this.#mintToken(), TOKEN_MARGIN_MS);
  }

  /** The configured algorithm. */
  get algorithm(): AzureWrapAlgorithm {
    return this.#options.algorithm;
  }

  /** wrapKey under the configured key (its latest version if none is pinned). */
  async wrap(key: Uint8Array): Promise<{ wrapped: Uint8Array; version: string }> {
    const reply = await this.#call("wrapkey", this.#key.version ?? "", this.#options.algorithm, key);
    // The reply's kid names the version that wrapped; it must be our key, or unwrap later fails.
    // Case-insensitive: Key Vault names are, and its kid spells the name as it was created.
    const prefix = `${this.#key.origin}/keys/${this.#key.name}/`.toLowerCase();
    const version = reply.kid.toLowerCase().startsWith(prefix) ? reply.kid.slice(prefix.length) : "";
    if (!VERSION_PATTERN.test(version)) throw new KmsError("malformed", "Key Vault wrapkey answered for another key");
    return { wrapped: reply.value, version };
  }

  /** unwrapKey with the key version and algorithm that wrapped. */
  async unwrap(wrapped: Uint8Array, version: string, algorithm: AzureWrapAlgorithm): Promise<Uint8Array> {
    return (await this.#call("unwrapkey", version, algorithm, wrapped)).value;
  }

  async #call(op: "wrapkey" | "unwrapkey", version: string, alg: AzureWrapAlgorithm, value: Uint8Array) {
    const label = `Key Vault ${op}`;
    const token = await this.#tokens.get();
    const path = `/keys/${this.#key.name}/${version}/${op}`;
    const url = `${this.#key.origin}${path}?${new URLSearchParams({ "api-version": AZURE_API_VERSION })}`;
    const reply = await timedExchange(this.#options.fetch, label, this.#options.timeoutMs, (signal) => {
      const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
      return new Request(url, {
        method: "POST",
        headers,
        body: JSON.stringify({ alg, value: bytesToBase64url(value) }),
        signal,
      });
    });
    if (reply.status >= 200 && reply.status < 300) return parseSuccess(label, KeyOperationReply, reply);
    if (reply.status === 401) this.#tokens.invalidate(token);
    const code = safeErrorCode(reply.text, (json) => (json as { error?: { code?: unknown } } | null)?.error?.code);
    throw classifyFailure(label, reply.status, code, code === "Throttled" || code === "TooManyRequests");
  }

  /** Entra client-credentials grant (OAuth 2.0 §4.4) for the vault's resource scope. */
  #mintToken() {
    const o = this.#options;
    // Managed HSM is a different resource from Key Vault; a vault token is refused there.
    const resource = new URL(this.#key.origin).hostname.endsWith(".managedhsm.azure.net")
      ? "https://managedhsm.azure.net"
      : "https://vault.azure.net";
    return requestAccessToken({
      url: `${o.authorityHost.replace(/\/+$/, "")}/${encodeURIComponent(o.tenantId)}/oauth2/v2.0/token`,
      form: {
        grant_type: "client_credentials",
        client_id: o.clientId,
        client_secret: o.clientSecret,
        scope: `${resource}/.default`,
      },
      label: "Entra token",
      timeoutMs: o.timeoutMs,
      fetch: o.fetch,
      now: Date.now(),
    });
  }
}

/** The vault's `KmsProvider` over Key Vault, with the context bound by the envelope above. */
export class AzureKeyVaultProvider implements KmsProvider {
  constructor(readonly client: AzureKeyVaultClient) {}

  /** A fresh KEK sealed under a fresh W, W wrapped by Key Vault. */
  async generateKek(ctx: KekContext): Promise<{ plaintext: Uint8Array; wrapped: Uint8Array }> {
    const plaintext = crypto.getRandomValues(new Uint8Array(32));
    return { plaintext, wrapped: await this.#seal(plaintext, ctx) };
  }

  /** Key Vault has no re-wrap: opens the KEK, then seals it under a fresh W wrapped by the key's current version. */
  async rewrapKek(wrapped: Uint8Array, ctx: KekContext): Promise<Uint8Array> {
    const plaintext = await this.unwrapKek(wrapped, ctx);
    try {
      return await this.#seal(plaintext, ctx);
    } finally {
      plaintext.fill(0);
    }
  }

  /** Seals a KEK the caller holds under a fresh W wrapped by the key's current version. */
  wrapKek(plaintext: Uint8Array, ctx: KekContext): Promise<Uint8Array> {
    return this.#seal(plaintext, ctx);
  }

  async #seal(kek: Uint8Array, ctx: KekContext): Promise<Uint8Array> {
    const w = crypto.getRandomValues(new Uint8Array(32));
    try {
      const { wrapped, version } = await this.client.wrap(w);
      const header = envelopeHeader(this.client.algorithm, version, wrapped);
      const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
      return concatBytes(
        header,
        iv,
        await gcm("encrypt", w, iv, concatBytes(LABEL, header, kekContextBytes(ctx)), kek),
      );
    } finally {
      w.fill(0);
    }
  }

  /** Unwraps W through Key Vault, then opens the KEK; a wrong context fails as "refused". */
  async unwrapKek(wrapped: Uint8Array, ctx: KekContext): Promise<Uint8Array> {
    const envelope = parseEnvelope(wrapped);
    const w = await this.client.unwrap(envelope.wrappedKey, envelope.version, envelope.algorithm);
    if (w.length !== 32) throw new KmsError("malformed", "Key Vault unwrapkey returned a key of the wrong length");
    try {
      const aad = concatBytes(LABEL, envelope.header, kekContextBytes(ctx));
      return await gcm("decrypt", w, envelope.iv, aad, envelope.sealed);
    } catch {
      throw new KmsError("refused", "wrapped KEK does not open under this tenant KEK context");
    } finally {
      w.fill(0);
    }
  }
}

function envelopeHeader(algorithm: AzureWrapAlgorithm, version: string, wrappedKey: Uint8Array): Uint8Array {
  const versionBytes = new TextEncoder().encode(version);
  const length = new Uint8Array(2);
  new DataView(length.buffer).setUint16(0, wrappedKey.length);
  return concatBytes(
    Uint8Array.of(ENVELOPE_VERSION, ALG_IDS[algorithm], versionBytes.length),
    versionBytes,
    length,
    wrappedKey,
  );
}

/** Parses an envelope; anything malformed is "refused", as a bad ciphertext is on AWS. */
function parseEnvelope(blob: Uint8Array) {
  const bad = () => new KmsError("refused", "wrapped KEK is not a Key Vault envelope");
  if (blob.length < 3 || blob[0] !== ENVELOPE_VERSION) throw bad();
  const algorithm = AZURE_WRAP_ALGORITHMS.find((a) => ALG_IDS[a] === blob[1]);
  const versionEnd = 3 + blob[2]!;
  if (!algorithm || blob.length < versionEnd + 2) throw bad();
  const version = new TextDecoder().decode(blob.subarray(3, versionEnd));
  const keyLength = new DataView(blob.buffer, blob.byteOffset + versionEnd, 2).getUint16(0);
  const keyEnd = versionEnd + 2 + keyLength;
  if (!VERSION_PATTERN.test(version) || keyLength === 0 || blob.length !== keyEnd + IV_BYTES + SEALED_KEK_BYTES)
    throw bad();
  return {
    algorithm,
    version,
    header: blob.subarray(0, keyEnd),
    wrappedKey: blob.subarray(versionEnd + 2, keyEnd),
    iv: blob.subarray(keyEnd, keyEnd + IV_BYTES),
    sealed: blob.subarray(keyEnd + IV_BYTES),
  };
}

async function gcm(
  op: "encrypt" | "decrypt",
  raw: Uint8Array,
  iv: Uint8Array,
  aad: Uint8Array,
  data: Uint8Array,
): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", raw, "AES-GCM", false, [op]);
  return new Uint8Array(await crypto.subtle[op]({ name: "AES-GCM", iv, additionalData: aad }, key, data));
}
