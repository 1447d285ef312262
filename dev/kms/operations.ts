import { z } from "zod";
import { base64ToBytes, bytesToBase64, decodeOrNull } from "../../worker/core/crypto/encoding";
import { contextAad, openBlob, sealBlob } from "./blob";
import type { EmulatorConfig, EmulatorKey } from "./config";
import { KmsApiError } from "./errors";

/** The operations of `TrentService` the emulator implements. */
export const OPERATIONS = ["Encrypt", "Decrypt", "GenerateDataKey", "ReEncrypt", "DescribeKey"] as const;

/** One implemented operation name. */
export type Operation = (typeof OPERATIONS)[number];

/** What an operation needs besides its input. */
export interface OperationContext {
  config: EmulatorConfig;
  /** From the SigV4 credential scope: ARNs in replies name the region the client signed for. */
  region: string;
}

/** A fake account id for ARNs: the emulator has no account. */
const ACCOUNT_ID = "000000000000";

function blob(min: number, max: number) {
  return z.string().transform((text, ctx) => {
    const bytes = decodeOrNull(base64ToBytes, text);
    if (bytes === null || bytes.length < min || bytes.length > max) {
      ctx.addIssue({ code: "custom", message: `must be base64 of ${min} to ${max} bytes` });
      return z.NEVER;
    }
    return bytes;
  });
}

const KeyId = z.string().min(1).max(2048);
const Context = z.record(z.string().min(1), z.string()).optional().default({});
const Algorithm = z.literal("SYMMETRIC_DEFAULT").optional();

const EncryptInput = z.object({
  KeyId,
  Plaintext: blob(1, 4096),
  EncryptionContext: Context,
  EncryptionAlgorithm: Algorithm,
});
const DecryptInput = z.object({
  CiphertextBlob: blob(1, 6144),
  KeyId: KeyId.optional(),
  EncryptionContext: Context,
  EncryptionAlgorithm: Algorithm,
});
const GenerateDataKeyInput = z
  .object({
    KeyId,
    KeySpec: z.enum(["AES_256", "AES_128"]).optional(),
    NumberOfBytes: z.number().int().min(1).max(1024).optional(),
    EncryptionContext: Context,
  })
  // AWS: "You must specify either the KeySpec or the NumberOfBytes parameter (but not both)".
  .refine(
    (i) => (i.KeySpec === undefined) !== (i.NumberOfBytes === undefined),
    "specify KeySpec or NumberOfBytes, not both",
  );
const ReEncryptInput = z.object({
  CiphertextBlob: blob(1, 6144),
  SourceKeyId: KeyId.optional(),
  SourceEncryptionContext: Context,
  DestinationKeyId: KeyId,
  DestinationEncryptionContext: Context,
});
const DescribeKeyInput = z.object({ KeyId });

/** Runs one operation on an already authenticated, JSON-parsed request body. */
export async function runOperation(op: Operation, input: unknown, ctx: OperationContext): Promise<unknown> {
  switch (op) {
    case "Encrypt": {
      const i = parse(EncryptInput, input);
      const key = resolveKey(i.KeyId, ctx);
      const blob = await sealBlob(key.rootKey, i.Plaintext, contextAad(key.keyId, i.EncryptionContext));
      return { CiphertextBlob: bytesToBase64(blob), KeyId: keyArn(ctx, key), EncryptionAlgorithm: "SYMMETRIC_DEFAULT" };
    }
    case "Decrypt": {
      const i = parse(DecryptInput, input);
      const { key, plaintext } = await openWithAny(i.KeyId, i.CiphertextBlob, i.EncryptionContext, ctx);
      return { Plaintext: bytesToBase64(plaintext), KeyId: keyArn(ctx, key), EncryptionAlgorithm: "SYMMETRIC_DEFAULT" };
    }
    case "GenerateDataKey": {
      const i = parse(GenerateDataKeyInput, input);
      const key = resolveKey(i.KeyId, ctx);
      const size = i.NumberOfBytes ?? (i.KeySpec === "AES_128" ? 16 : 32);
      const plaintext = crypto.getRandomValues(new Uint8Array(size));
      const blob = await sealBlob(key.rootKey, plaintext, contextAad(key.keyId, i.EncryptionContext));
      return { CiphertextBlob: bytesToBase64(blob), Plaintext: bytesToBase64(plaintext), KeyId: keyArn(ctx, key) };
    }
    case "ReEncrypt": {
      const i = parse(ReEncryptInput, input);
      const destination = resolveKey(i.DestinationKeyId, ctx);
      const source = await openWithAny(i.SourceKeyId, i.CiphertextBlob, i.SourceEncryptionContext, ctx);
      const blob = await sealBlob(
        destination.rootKey,
        source.plaintext,
        contextAad(destination.keyId, i.DestinationEncryptionContext),
      );
      return {
        CiphertextBlob: bytesToBase64(blob),
        SourceKeyId: keyArn(ctx, source.key),
        KeyId: keyArn(ctx, destination),
        SourceEncryptionAlgorithm: "SYMMETRIC_DEFAULT",
        DestinationEncryptionAlgorithm: "SYMMETRIC_DEFAULT",
      };
    }
    case "DescribeKey": {
      const key = resolveKey(parse(DescribeKeyInput, input).KeyId, ctx);
      return { KeyMetadata: keyMetadata(ctx, key) };
    }
  }
}

/**
 * Opens a blob under the named key, or (no key named, as AWS allows for symmetric keys) under
 * whichever held key made it: the key id is in the AAD, so only that key opens it.
 */
async function openWithAny(
  keyId: string | undefined,
  blob: Uint8Array,
  context: Record<string, string>,
  ctx: OperationContext,
): Promise<{ key: EmulatorKey; plaintext: Uint8Array }> {
  const candidates = keyId === undefined ? ctx.config.keys : [resolveKey(keyId, ctx)];
  let failure: unknown;
  for (const key of candidates) {
    try {
      return { key, plaintext: await openBlob(key.rootKey, blob, contextAad(key.keyId, context)) };
    } catch (error) {
      failure = error;
    }
  }
  throw failure;
}

function parse<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join(".") || "request"}: ${i.message}`);
  throw new KmsApiError("ValidationException", issues.join("; "));
}

/**
 * Finds a held key by its id as given (`alias/...`) or in ARN form
 * (`arn:aws:kms:<region>:<account>:alias/...`), as AWS accepts both; anything else is unknown.
 */
function resolveKey(requested: string, ctx: OperationContext): EmulatorKey {
  const arn = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(.+)$/.exec(requested);
  const resource = arn ? arn[1] : requested;
  const key = ctx.config.keys.find((k) => resource === k.keyId || resource === `key/${k.keyId}`);
  if (key) return key;
  throw new KmsApiError("NotFoundException", "Key does not exist in this KMS emulator.");
}

/** The ARN replies name the key by. Aliases keep their alias ARN; AWS would give the key ARN. */
function keyArn(ctx: OperationContext, key: EmulatorKey): string {
  const own = key.keyId;
  const resource = own.startsWith("alias/") ? own : `key/${own}`;
  return `arn:aws:kms:${ctx.region}:${ACCOUNT_ID}:${resource}`;
}

function keyMetadata(ctx: OperationContext, key: EmulatorKey) {
  return {
    AWSAccountId: ACCOUNT_ID,
    KeyId: key.keyId,
    Arn: keyArn(ctx, key),
    CreationDate: 0,
    Enabled: true,
    Description: "ghostvault development KMS emulator key",
    KeyUsage: "ENCRYPT_DECRYPT",
    KeyState: "Enabled",
    Origin: "AWS_KMS",
    KeyManager: "CUSTOMER",
    KeySpec: "SYMMETRIC_DEFAULT",
    CustomerMasterKeySpec: "SYMMETRIC_DEFAULT",
    EncryptionAlgorithms: ["SYMMETRIC_DEFAULT"],
    MultiRegion: false,
  };
}
