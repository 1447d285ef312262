import { z } from "zod";
import { base64ToBytes, base64urlToBytes, bytesToBase64, bytesToBase64url, decodeOrNull } from "../crypto/encoding";
import { crc32c } from "./crc32c";
import { classifyFailure, parseSuccess, safeErrorCode, timedExchange, type KmsFetch } from "./http";
import { KmsError, kekContextBytes, type KekContext, type KmsProvider } from "./provider";
import { AccessTokenCache, requestAccessToken } from "./token-cache";

/**
 * Google Cloud KMS over its REST API (`cryptoKeys.encrypt` / `decrypt`), authenticated as a
 * service account: an RS256 JWT signed with WebCrypto is exchanged at the token endpoint for an
 * OAuth access token (developers.google.com/identity/protocols/oauth2/service-account), cached
 * until five minutes before it expires.
 *
 * The tenant KEK context is the ciphertext's `additionalAuthenticatedData`, so Cloud KMS
 * refuses to decrypt a KEK under any other tenant or version. Every field carries a CRC32C both
 * ways, as Google's data-integrity guidelines ask: the server checks ours, we check its.
 */

/** The fields of a service-account JSON key file the provider uses. */
export const GcpServiceAccountSchema = z.object({
  type: z.literal("service_account"),
  client_email: z.string().min(3).max(320),
  private_key: z.string().includes("-----BEGIN PRIVATE KEY-----", { message: "must be a PKCS#8 PEM private key" }),
  private_key_id: z.string().max(128).optional(),
  token_uri: z.url().default("https://oauth2.googleapis.com/token"),
});

/** A parsed service-account key. */
export type GcpServiceAccount = z.output<typeof GcpServiceAccountSchema>;

/** Everything the Cloud KMS client needs; none of it is read from the environment here. */
export interface GcpKmsOptions {
  /** `projects/P/locations/L/keyRings/R/cryptoKeys/K` (decrypt needs the key, not a version). */
  keyName: string;
  /** Base URL of the API, `https://cloudkms.googleapis.com` in production. */
  endpoint: string;
  serviceAccount: GcpServiceAccount;
  timeoutMs: number;
  fetch: KmsFetch;
}

/** OAuth scope of Cloud KMS. */
const SCOPE = "https://www.googleapis.com/auth/cloudkms";
/** google-auth-library refreshes five minutes early; so do we. */
const TOKEN_MARGIN_MS = 5 * 60 * 1000;

/** Int64Value on the wire: a decimal string (proto3 JSON), though a number is tolerated. */
const Crc = z.union([z.string().regex(/^\d{1,10}$/), z.number().int().nonnegative()]).transform(Number);
const Bytes = z.string().transform((text, ctx) => {
  const bytes = decodeOrNull(base64ToBytes, text);
  if (bytes === null || bytes.length === 0) {
    ctx.addIssue({ code: "custom", message: "not a non-empty canonical base64 field" });
    return z.NEVER;
  }
  return bytes;
});
const EncryptReply = z.object({
  name: z.string().min(1),
  ciphertext: Bytes,
  ciphertextCrc32c: Crc,
  verifiedPlaintextCrc32c: z.literal(true),
  verifiedAdditionalAuthenticatedDataCrc32c: z.literal(true),
});
const DecryptReply = z.object({ plaintext: Bytes, plaintextCrc32c: Crc });

/** Throttling as Google reports it (google.rpc.Code RESOURCE_EXHAUSTED). */
const THROTTLE_STATUSES = new Set(["RESOURCE_EXHAUSTED"]);
const UNAVAILABLE_STATUSES = new Set(["UNAVAILABLE", "INTERNAL", "DEADLINE_EXCEEDED"]);

/** A minimal Cloud KMS client: encrypt and decrypt, no retries (the Durable Object decides). */
export class GcpKmsClient {
  readonly #options: GcpKmsOptions;
  readonly #tokens: AccessTokenCache;
  #signingKey: Promise<CryptoKey> | undefined;

  constructor(options: GcpKmsOptions) {
    this.#options = options;
    this.#tokens = new AccessTokenCache(() => this.#mintToken(), TOKEN_MARGIN_MS);
  }

  /** Encrypts `plaintext` bound to `aad`; returns the ciphertext (it names its key version). */
  async encrypt(plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    const reply = await this.#call("encrypt", EncryptReply, {
      ...withCrc("plaintext", plaintext),
      ...withCrc("additionalAuthenticatedData", aad),
    });
    if (reply.ciphertextCrc32c !== crc32c(reply.ciphertext)) throw corrupted("encrypt");
    // The reply names the key version used; anything outside our key means a confused endpoint.
    if (!reply.name.startsWith(`${this.#options.keyName}/cryptoKeyVersions/`)) {
      throw new KmsError("malformed", "Cloud KMS encrypt answered for another key");
    }
    return reply.ciphertext;
  }

  /** Decrypts a ciphertext made by `encrypt` with the same `aad`. */
  async decrypt(ciphertext: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    const reply = await this.#call("decrypt", DecryptReply, {
      ...withCrc("ciphertext", ciphertext),
      ...withCrc("additionalAuthenticatedData", aad),
    });
    if (reply.plaintextCrc32c !== crc32c(reply.plaintext)) throw corrupted("decrypt");
    return reply.plaintext;
  }

  async #call<S extends z.ZodType>(method: "encrypt" | "decrypt", schema: S, body: object): Promise<z.output<S>> {
    const label = `Cloud KMS ${method}`;
    const token = await this.#tokens.get();
    const url = `${this.#options.endpoint.replace(/\/+$/, "")}/v1/${this.#options.keyName}:${method}`;
    const reply = await timedExchange(this.#options.fetch, label, this.#options.timeoutMs, (signal) => {
      const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
      return new Request(url, { method: "POST", headers, body: JSON.stringify(body), signal });
    });
    if (reply.status >= 200 && reply.status < 300) return parseSuccess(label, schema, reply);
    // A revoked or expired token: drop it so the next call mints a fresh one.
    if (reply.status === 401) this.#tokens.invalidate(token);
    const status = safeErrorCode(
      reply.text,
      (json) => (json as { error?: { status?: unknown } } | null)?.error?.status,
    );
    if (reply.status < 500 && UNAVAILABLE_STATUSES.has(status)) {
      throw new KmsError("unavailable", `${label} failed (${reply.status} ${status})`);
    }
    throw classifyFailure(label, reply.status, status, THROTTLE_STATUSES.has(status));
  }

  /** Signs the JWT bearer assertion (RFC 7523) and exchanges it for an access token. */
  async #mintToken() {
    const sa = this.#options.serviceAccount;
    const now = Date.now();
    const iat = Math.floor(now / 1000);
    const header = { alg: "RS256", typ: "JWT", ...(sa.private_key_id ? { kid: sa.private_key_id } : {}) };
    const claims = { iss: sa.client_email, scope: SCOPE, aud: sa.token_uri, iat, exp: iat + 3600 };
    const encoder = new TextEncoder();
    const signingInput = `${bytesToBase64url(encoder.encode(JSON.stringify(header)))}.${bytesToBase64url(encoder.encode(JSON.stringify(claims)))}`;
    const signature = await crypto.subtle.sign("RSASSA-PKCS1-v1_5", await this.#key(), encoder.encode(signingInput));
    return requestAccessToken({
      url: sa.token_uri,
      form: {
        grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer",
        assertion: `${signingInput}.${bytesToBase64url(new Uint8Array(signature))}`,
      },
      label: "Google OAuth token",
      timeoutMs: this.#options.timeoutMs,
      fetch: this.#options.fetch,
      now,
    });
  }

  #key(): Promise<CryptoKey> {
    this.#signingKey ??= importPkcs8(this.#options.serviceAccount.private_key).catch((cause: unknown) => {
      this.#signingKey = undefined;
      // A key that will not import is the operator's error; say so without echoing it.
      throw new KmsError("refused", "the service account private_key is not a PKCS#8 RSA key", { cause });
    });
    return this.#signingKey;
  }
}

/** Imports a PKCS#8 PEM RSA key for RS256; non-extractable. */
async function importPkcs8(pem: string): Promise<CryptoKey> {
  const body = pem.replace(/-----(BEGIN|END) PRIVATE KEY-----/g, "").replace(/\s+/g, "");
  const der = base64urlToBytes(body.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""));
  return crypto.subtle.importKey("pkcs8", der, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, false, ["sign"]);
}

/** A bytes field and its CRC32C (`<name>Crc32c`, an Int64Value string), as Cloud KMS takes them. */
function withCrc(name: string, bytes: Uint8Array): Record<string, string> {
  return { [name]: bytesToBase64(bytes), [`${name}Crc32c`]: String(crc32c(bytes)) };
}

function corrupted(method: string): KmsError {
  return new KmsError("malformed", `Cloud KMS ${method} reply failed its CRC32C check`);
}

/** The vault's `KmsProvider` over Cloud KMS: the KEK is made here and wrapped with the context as AAD. */
export class GcpKmsProvider implements KmsProvider {
  constructor(readonly client: GcpKmsClient) {}

  /** 32 random bytes from WebCrypto, encrypted under the key with the KEK context as AAD. */
  async generateKek(ctx: KekContext): Promise<{ plaintext: Uint8Array; wrapped: Uint8Array }> {
    const aad = kekContextBytes(ctx);
    const plaintext = crypto.getRandomValues(new Uint8Array(32));
    return { plaintext, wrapped: await this.client.encrypt(plaintext, aad) };
  }

  /** Decrypt with the KEK context as AAD: Cloud KMS refuses (400) under any other context. */
  async unwrapKek(wrapped: Uint8Array, ctx: KekContext): Promise<Uint8Array> {
    const plaintext = await this.client.decrypt(wrapped, kekContextBytes(ctx));
    if (plaintext.length !== 32)
      throw new KmsError("malformed", "Cloud KMS decrypt returned a KEK of the wrong length");
    return plaintext;
  }

  /** Cloud KMS has no re-encrypt: decrypt, then encrypt under the key's primary version. */
  async rewrapKek(wrapped: Uint8Array, ctx: KekContext): Promise<Uint8Array> {
    const plaintext = await this.unwrapKek(wrapped, ctx);
    try {
      return await this.wrapKek(plaintext, ctx);
    } finally {
      plaintext.fill(0);
    }
  }

  /** Encrypt under the key's primary version with the KEK context as AAD. */
  wrapKek(plaintext: Uint8Array, ctx: KekContext): Promise<Uint8Array> {
    return this.client.encrypt(plaintext, kekContextBytes(ctx));
  }
}
