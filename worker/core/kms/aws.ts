import { AwsClient } from "aws4fetch";
import { z } from "zod";
import { base64ToBytes, bytesToBase64, decodeOrNull } from "../crypto/encoding";
import { classifyFailure, parseSuccess, safeErrorCode, timedExchange, type KmsFetch } from "./http";
import { KmsError, kekEncryptionContext, type KekContext, type KmsProvider } from "./provider";

export type { KmsFetch } from "./http";

/** An AWS KMS encryption context: string pairs bound to the ciphertext as authenticated data. */
export type EncryptionContext = Record<string, string>;

/** Everything an `AwsKmsClient` needs; none of it is read from the environment here. */
export interface AwsKmsClientOptions {
  region: string;
  /** Base URL of the KMS API, e.g. `https://kms.us-east-1.amazonaws.com`. */
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Bound on one whole call: signing, sending and reading the reply. */
  timeoutMs: number;
  fetch: KmsFetch;
}

/** The KMS operations this client speaks (AWS KMS API names). */
export type KmsOperation = "Encrypt" | "Decrypt" | "GenerateDataKey" | "ReEncrypt";

const blob = z.string().transform((text, ctx) => {
  const bytes = decodeOrNull(base64ToBytes, text);
  if (bytes === null || bytes.length === 0) {
    ctx.addIssue({ code: "custom", message: "not a non-empty canonical base64 blob" });
    return z.NEVER;
  }
  return bytes;
});

const EncryptReply = z.object({ CiphertextBlob: blob, KeyId: z.string().min(1) });
const DecryptReply = z.object({ Plaintext: blob, KeyId: z.string().min(1) });
const GenerateDataKeyReply = z.object({
  CiphertextBlob: blob,
  // AES_256 is the only KeySpec this client asks for, so anything but 32 bytes is a bad reply.
  Plaintext: blob.refine((b) => b.length === 32, "Plaintext must be 32 bytes"),
  KeyId: z.string().min(1),
});
const ErrorReply = z.object({ __type: z.string().optional() });

/** Error types KMS reports with a 4xx that mean "slow down" rather than "no". */
const THROTTLE_TYPES = new Set(["ThrottlingException", "ThrottledException", "TooManyRequestsException"]);

/**
 * SigV4 signing keys (HMAC chain of secret, date, region, service), shared by every client in the
 * isolate, as the AWS SDKs cache them: aws4fetch keeps them per client, and each tenant object
 * builds its own client, so a cold object paid four HMACs on its first KMS call (issue 16 goal 4).
 * Keyed by aws4fetch with the secret, date, region and service; it holds only keys derived from
 * secrets this isolate already holds. Bounded: cleared past a few entries (a new day, a root move).
 */
const SIGNING_KEYS = new Map<string, ArrayBuffer>();
const MAX_SIGNING_KEYS = 8;

/**
 * A minimal AWS KMS client for the JSON 1.1 protocol (`X-Amz-Target: TrentService.<Op>`),
 * SigV4-signed with aws4fetch. It does not retry: the caller (the tenant's Durable Object)
 * decides, knowing whether a request is waiting. Every failure of a call is a `KmsError`
 * (an endpoint that is not a URL is a configuration error and throws TypeError instead).
 */
export class AwsKmsClient {
  readonly #signer: AwsClient;
  readonly #endpoint: string;
  readonly #timeoutMs: number;
  readonly #fetch: KmsFetch;

  constructor(options: AwsKmsClientOptions) {
    this.#signer = new AwsClient({
      accessKeyId: options.accessKeyId,
      secretAccessKey: options.secretAccessKey,
      service: "kms",
      region: options.region,
      // aws4fetch's own fetch() retries; we only use sign(), so retries must not matter, but
      // zero makes that explicit.
      retries: 0,
      cache: SIGNING_KEYS,
    });
    if (SIGNING_KEYS.size > MAX_SIGNING_KEYS) SIGNING_KEYS.clear();
    this.#endpoint = options.endpoint;
    this.#timeoutMs = options.timeoutMs;
    this.#fetch = options.fetch;
  }

  /** KMS Encrypt: wraps up to 4 KiB of `plaintext` under `keyId`. */
  async encrypt(input: { keyId: string; plaintext: Uint8Array; context: EncryptionContext }) {
    const reply = await this.#call("Encrypt", EncryptReply, {
      KeyId: input.keyId,
      Plaintext: bytesToBase64(input.plaintext),
      EncryptionContext: input.context,
    });
    return { ciphertext: reply.CiphertextBlob, keyId: reply.KeyId };
  }

  /** KMS Decrypt, pinned to `keyId` so a blob made under another key is refused. */
  async decrypt(input: { keyId: string; ciphertext: Uint8Array; context: EncryptionContext }) {
    const reply = await this.#call("Decrypt", DecryptReply, {
      KeyId: input.keyId,
      CiphertextBlob: bytesToBase64(input.ciphertext),
      EncryptionContext: input.context,
    });
    return { plaintext: reply.Plaintext, keyId: reply.KeyId };
  }

  /** KMS GenerateDataKey with KeySpec AES_256: 32 fresh bytes, in plaintext and wrapped. */
  async generateDataKey(input: { keyId: string; context: EncryptionContext }) {
    const reply = await this.#call("GenerateDataKey", GenerateDataKeyReply, {
      KeyId: input.keyId,
      KeySpec: "AES_256",
      EncryptionContext: input.context,
    });
    return { plaintext: reply.Plaintext, ciphertext: reply.CiphertextBlob, keyId: reply.KeyId };
  }

  /** KMS ReEncrypt: moves a blob to another key and/or context without exposing its plaintext. */
  async reEncrypt(input: {
    ciphertext: Uint8Array;
    sourceKeyId: string;
    sourceContext: EncryptionContext;
    destinationKeyId: string;
    destinationContext: EncryptionContext;
  }) {
    const reply = await this.#call("ReEncrypt", EncryptReply, {
      CiphertextBlob: bytesToBase64(input.ciphertext),
      SourceKeyId: input.sourceKeyId,
      SourceEncryptionContext: input.sourceContext,
      DestinationKeyId: input.destinationKeyId,
      DestinationEncryptionContext: input.destinationContext,
    });
    return { ciphertext: reply.CiphertextBlob, keyId: reply.KeyId };
  }

  /** One signed call, bounded by the timeout as a whole (a stalled body read counts too). */
  async #call<S extends z.ZodType>(op: KmsOperation, schema: S, payload: object): Promise<z.output<S>> {
    const label = `KMS ${op}`;
    const reply = await timedExchange(this.#fetch, label, this.#timeoutMs, (signal) =>
      this.#signer.sign(this.#endpoint, {
        method: "POST",
        headers: { "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": `TrentService.${op}` },
        body: JSON.stringify(payload),
        signal,
      }),
    );
    if (reply.status >= 200 && reply.status < 300) return parseSuccess(label, schema, reply);
    const type = errorType(reply.text);
    throw classifyFailure(label, reply.status, type, THROTTLE_TYPES.has(type));
  }
}

/**
 * The AWS error type from a JSON error body: `__type` is either `Name` or
 * `com.amazonaws.kms#Name` (AWS JSON 1.1 protocol). Anything that does not look like a plain
 * name is replaced, so a hostile body cannot smuggle text into our error messages.
 */
function errorType(text: string): string {
  const raw = safeErrorCode(text, (json) => {
    const parsed = ErrorReply.safeParse(json);
    const type = parsed.success ? (parsed.data.__type ?? "") : "";
    return type.slice(type.lastIndexOf("#") + 1).split(":")[0];
  });
  return raw.includes(".") ? "UnknownError" : raw;
}

/** The vault's `KmsProvider` over AWS KMS (or the development emulator, which speaks the same). */
export class AwsKmsProvider implements KmsProvider {
  constructor(
    readonly client: AwsKmsClient,
    readonly keyId: string,
  ) {}

  /** GenerateDataKey (AES_256) under the tenant KEK's encryption context. */
  async generateKek(ctx: KekContext): Promise<{ plaintext: Uint8Array; wrapped: Uint8Array }> {
    const context = kekEncryptionContext(ctx);
    const key = await this.client.generateDataKey({ keyId: this.keyId, context });
    return { plaintext: key.plaintext, wrapped: key.ciphertext };
  }

  /** Decrypt, pinned to this provider's key and the tenant KEK's encryption context. */
  async unwrapKek(wrapped: Uint8Array, ctx: KekContext): Promise<Uint8Array> {
    const context = kekEncryptionContext(ctx);
    const { plaintext } = await this.client.decrypt({ keyId: this.keyId, ciphertext: wrapped, context });
    // A KEK is always 32 bytes; another length means the blob was not a KEK (or KMS misbehaved).
    if (plaintext.length !== 32) throw new KmsError("malformed", "KMS Decrypt returned a KEK of the wrong length");
    return plaintext;
  }

  /** ReEncrypt from this key to its current version under the same context: the KEK never leaves KMS. */
  async rewrapKek(wrapped: Uint8Array, ctx: KekContext): Promise<Uint8Array> {
    const context = kekEncryptionContext(ctx);
    const moved = await this.client.reEncrypt({
      ciphertext: wrapped,
      sourceKeyId: this.keyId,
      sourceContext: context,
      destinationKeyId: this.keyId,
      destinationContext: context,
    });
    return moved.ciphertext;
  }

  /** Encrypt under this provider's key with the tenant KEK's encryption context. */
  async wrapKek(plaintext: Uint8Array, ctx: KekContext): Promise<Uint8Array> {
    const context = kekEncryptionContext(ctx);
    return (await this.client.encrypt({ keyId: this.keyId, plaintext, context })).ciphertext;
  }
}
