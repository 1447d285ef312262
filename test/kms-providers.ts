/**
 * Test settings of the `gcp` and `azure` KMS emulators, made fresh for each test run: RSA keys
 * are generated here (node:crypto) rather than committed, so no private key sits in the repo.
 * Used by vitest.config.ts (auxiliary workers + bindings) and by the Node tests.
 */
import { generateKeyPairSync, randomBytes, randomUUID } from "node:crypto";

/** Everything a test needs to run the vault's `gcp` provider against dev/gcp-kms. */
export interface GcpTestSettings {
  keyName: string;
  /** A second key of the emulator, for moves to another key name. */
  secondKeyName: string;
  endpoint: string;
  /** The service-account JSON key, as KMS_GCP_SERVICE_ACCOUNT holds it. */
  serviceAccountJson: string;
  clientEmail: string;
  /** The emulator's bindings (GcpEmulatorEnv). */
  emulator: Record<string, string>;
}

/** Everything a test needs to run the vault's `azure` provider against dev/azure-kv. */
export interface AzureTestSettings {
  vault: string;
  keyName: string;
  /** A second RSA key of the emulator, for moves to another key. */
  secondKeyName: string;
  octKeyName: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  authorityHost: string;
  /** The emulator's bindings (AzureEmulatorEnv). */
  emulator: Record<string, string>;
}

/** Fresh GCP emulator settings; `origin` is where the emulator is reached (a fake host via a binding, or a local URL). */
export function makeGcpTestSettings(origin = "http://gcp-kms.emulator"): GcpTestSettings {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const clientEmail = "vault@ghostvault-test.iam.gserviceaccount.com";
  const keyName = "projects/ghostvault-test/locations/global/keyRings/vault/cryptoKeys/tenant-keks";
  const secondKeyName = "projects/ghostvault-test/locations/global/keyRings/vault/cryptoKeys/tenant-keks-2";
  const serviceAccountJson = JSON.stringify({
    type: "service_account",
    project_id: "ghostvault-test",
    private_key_id: randomBytes(20).toString("hex"),
    private_key: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    client_email: clientEmail,
    token_uri: `${origin}/token`,
  });
  return {
    keyName,
    secondKeyName,
    endpoint: origin,
    serviceAccountJson,
    clientEmail,
    emulator: {
      KEY_NAME: keyName,
      ROOT_KEY: randomBytes(32).toString("hex"),
      SECOND_KEY_NAME: secondKeyName,
      SECOND_ROOT_KEY: randomBytes(32).toString("hex"),
      SA_CLIENT_EMAIL: clientEmail,
      SA_PUBLIC_KEY: publicKey.export({ type: "spki", format: "der" }).toString("base64"),
      CONTROL_SECRET: randomBytes(24).toString("hex"),
    },
  };
}

/** Fresh Azure emulator settings; `origin` serves both the vault and the Entra authority. */
export function makeAzureTestSettings(origin = "http://azure-kv.emulator"): AzureTestSettings {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const second = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
  const s = {
    vault: origin,
    keyName: "ghostvault-test",
    secondKeyName: "ghostvault-test-2",
    octKeyName: "ghostvault-test-hsm",
    tenantId: randomUUID(),
    clientId: randomUUID(),
    clientSecret: randomBytes(24).toString("base64url"),
    authorityHost: origin,
  };
  return {
    ...s,
    emulator: {
      KEY_NAME: s.keyName,
      OCT_KEY_NAME: s.octKeyName,
      RSA_PRIVATE_KEY: privateKey.export({ type: "pkcs8", format: "der" }).toString("base64"),
      SECOND_KEY_NAME: s.secondKeyName,
      SECOND_RSA_PRIVATE_KEY: second.export({ type: "pkcs8", format: "der" }).toString("base64"),
      OCT_KEY: randomBytes(32).toString("hex"),
      TENANT_ID: s.tenantId,
      CLIENT_ID: s.clientId,
      CLIENT_SECRET: s.clientSecret,
      CONTROL_SECRET: randomBytes(24).toString("hex"),
    },
  };
}

/**
 * The vitest workers-project block for the two emulators: auxiliary workers, the vault's service
 * bindings to them, and the settings tests read (TEST_GCP_KMS / TEST_AZURE_KV, JSON).
 */
export function kmsProviderTestWorkers(bundle: (entry: string) => string) {
  const gcp = makeGcpTestSettings();
  const azure = makeAzureTestSettings();
  const worker = (name: string, entry: string, bindings: Record<string, string>) => ({
    name,
    modules: true,
    script: bundle(entry),
    compatibilityDate: "2026-04-20",
    compatibilityFlags: ["nodejs_compat"],
    bindings,
  });
  return {
    workers: [
      worker("ghostvault-gcp-kms", "dev/gcp-kms/index.ts", gcp.emulator),
      worker("ghostvault-azure-kv", "dev/azure-kv/index.ts", azure.emulator),
    ],
    serviceBindings: { GCP_KMS_EMULATOR: "ghostvault-gcp-kms", AZURE_KV_EMULATOR: "ghostvault-azure-kv" },
    bindings: { TEST_GCP_KMS: JSON.stringify(gcp), TEST_AZURE_KV: JSON.stringify(azure) },
  };
}
