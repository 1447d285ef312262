import {
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  InvalidCiphertextException,
  KMSClient,
  ReEncryptCommand,
} from "@aws-sdk/client-kms";
import { unstable_startWorker } from "wrangler";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEST_KMS } from "../../test-env.ts";

/**
 * The development KMS emulator as `wrangler dev` runs it (dev/kms/wrangler.toml), driven by the
 * official AWS SDK: if the SDK accepts its replies and its signatures verify, the vault's own
 * `aws` provider speaks real AWS KMS, not a dialect shared only with the emulator.
 */

type DevWorker = Awaited<ReturnType<typeof unstable_startWorker>>;

let worker: DevWorker | undefined;
let endpoint = "";

/** A KMS client for the emulator, with the test credentials unless overridden. */
function kms(credentials: { accessKeyId: string; secretAccessKey: string } = TEST_KMS): KMSClient {
  return new KMSClient({
    endpoint,
    region: TEST_KMS.region,
    credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
    // A refused call must fail the test at once, not after the SDK's retries.
    maxAttempts: 1,
  });
}

beforeAll(async () => {
  worker = await unstable_startWorker({
    config: "dev/kms/wrangler.toml",
    sendMetrics: false,
    // The root key and credentials come from the test settings, never from a .dev.vars file.
    envFiles: [],
    bindings: {
      KMS_KEY_ID: { type: "plain_text", value: TEST_KMS.keyId },
      ROOT_KEY: { type: "plain_text", value: TEST_KMS.rootKey },
      ACCESS_KEY_ID: { type: "plain_text", value: TEST_KMS.accessKeyId },
      SECRET_ACCESS_KEY: { type: "plain_text", value: TEST_KMS.secretAccessKey },
    },
    dev: {
      server: { hostname: "127.0.0.1", port: 0 },
      inspector: false,
      persist: false,
      watch: false,
      logLevel: "warn",
    },
  });
  await worker.ready;
  endpoint = (await worker.url).toString();
});

afterAll(async () => {
  await worker?.dispose();
});

describe("KMS emulator with the official AWS SDK", () => {
  const context = { tenant_id: "tenant-node-sdk", kek_version: "1", purpose: "tenant-kek" };

  it("GenerateDataKey then Decrypt returns the same 32 bytes", async () => {
    const client = kms();
    const key = await client.send(
      new GenerateDataKeyCommand({ KeyId: TEST_KMS.keyId, KeySpec: "AES_256", EncryptionContext: context }),
    );
    expect(key.Plaintext).toHaveLength(32);
    const opened = await client.send(
      new DecryptCommand({ KeyId: TEST_KMS.keyId, CiphertextBlob: key.CiphertextBlob, EncryptionContext: context }),
    );
    expect(opened.Plaintext).toEqual(key.Plaintext);
    expect(opened.KeyId).toMatch(/^arn:aws:kms:us-east-1:\d{12}:alias\/ghostvault-test$/);
  });

  it("Encrypt then Decrypt round-trips, with and without KeyId on Decrypt", async () => {
    const client = kms();
    const plaintext = new TextEncoder().encode("hello from the AWS SDK");
    const sealed = await client.send(
      new EncryptCommand({ KeyId: TEST_KMS.keyId, Plaintext: plaintext, EncryptionContext: context }),
    );
    const withKey = await client.send(
      new DecryptCommand({ KeyId: TEST_KMS.keyId, CiphertextBlob: sealed.CiphertextBlob, EncryptionContext: context }),
    );
    const withoutKey = await client.send(
      new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob, EncryptionContext: context }),
    );
    expect(withKey.Plaintext).toEqual(plaintext);
    expect(withoutKey.Plaintext).toEqual(plaintext);
  });

  it("ReEncrypt moves a blob to a new context", async () => {
    const client = kms();
    const plaintext = new TextEncoder().encode("rewrapped");
    const destination = { ...context, kek_version: "2" };
    const sealed = await client.send(
      new EncryptCommand({ KeyId: TEST_KMS.keyId, Plaintext: plaintext, EncryptionContext: context }),
    );
    const moved = await client.send(
      new ReEncryptCommand({
        CiphertextBlob: sealed.CiphertextBlob,
        SourceEncryptionContext: context,
        DestinationKeyId: TEST_KMS.keyId,
        DestinationEncryptionContext: destination,
      }),
    );
    const opened = await client.send(
      new DecryptCommand({ CiphertextBlob: moved.CiphertextBlob, EncryptionContext: destination }),
    );
    expect(opened.Plaintext).toEqual(plaintext);
    await expect(
      client.send(new DecryptCommand({ CiphertextBlob: moved.CiphertextBlob, EncryptionContext: context })),
    ).rejects.toBeInstanceOf(InvalidCiphertextException);
  });

  it("refuses Decrypt under another EncryptionContext (InvalidCiphertextException)", async () => {
    const client = kms();
    const key = await client.send(
      new GenerateDataKeyCommand({ KeyId: TEST_KMS.keyId, NumberOfBytes: 32, EncryptionContext: context }),
    );
    await expect(
      client.send(
        new DecryptCommand({
          CiphertextBlob: key.CiphertextBlob,
          EncryptionContext: { ...context, tenant_id: "another-tenant" },
        }),
      ),
    ).rejects.toBeInstanceOf(InvalidCiphertextException);
    await expect(client.send(new DecryptCommand({ CiphertextBlob: key.CiphertextBlob }))).rejects.toBeInstanceOf(
      InvalidCiphertextException,
    );
    // Positive control: the right context opens it.
    const opened = await client.send(
      new DecryptCommand({ CiphertextBlob: key.CiphertextBlob, EncryptionContext: context }),
    );
    expect(opened.Plaintext).toEqual(key.Plaintext);
  });

  it("refuses wrong credentials; the right ones work", async () => {
    const describeKey = new DescribeKeyCommand({ KeyId: TEST_KMS.keyId });
    await expect(
      kms({ accessKeyId: TEST_KMS.accessKeyId, secretAccessKey: "wrong-secret-access-key-000000000000" }).send(
        describeKey,
      ),
    ).rejects.toMatchObject({ name: "InvalidSignatureException", $metadata: { httpStatusCode: 400 } });
    await expect(
      kms({ accessKeyId: "AKIDSOMEONEELSE00001", secretAccessKey: TEST_KMS.secretAccessKey }).send(describeKey),
    ).rejects.toMatchObject({ name: "UnrecognizedClientException", $metadata: { httpStatusCode: 400 } });
    const described = await kms().send(describeKey);
    expect(described.KeyMetadata).toMatchObject({ Enabled: true, KeyUsage: "ENCRYPT_DECRYPT" });
  });
});
