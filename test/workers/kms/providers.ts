import { env } from "cloudflare:test";
import { createKmsProvider, type KmsProvider, type KmsSettings } from "../../../worker/core/kms";
import type { AzureTestSettings, GcpTestSettings } from "../../kms-providers";
import { control, freshTenant, kmsSettings } from "./helpers";

/**
 * One harness per KMS provider, so a suite can run once against each emulator: the vault's
 * provider, the vault bindings that select it, and the emulator's test controls. Faults and
 * stats are per scope: the tenant id for aws and gcp (both see the tenant context), a key name
 * `<key>--<suffix>` for azure (wrapkey carries no context; dev/azure-kv/index.ts).
 */

/** The three providers. */
export type ProviderName = "aws" | "gcp" | "azure";
export const PROVIDERS: ProviderName[] = ["aws", "gcp", "azure"];

/** A fault as the emulators' `POST /__control/faults` takes it. */
export type FaultMode = "none" | "delay" | "error" | "throttle" | "garbage";

/** A tenant and the emulator scope its KMS calls fall in. */
export interface Scoped {
  tenantId: string;
  scope: string;
}

/** What a suite needs to run against one provider. */
export interface ProviderHarness {
  name: ProviderName;
  /** A fresh tenant and scope no other test uses. */
  fresh(): Scoped;
  /** The provider's settings for `scope`, with overrides (e.g. wrong credentials). */
  settings(scope: string, overrides?: Record<string, unknown>): KmsSettings;
  /** The vault's provider for `scope`, through the emulator binding. */
  provider(scope: string, overrides?: Record<string, unknown>): KmsProvider;
  /** Vault bindings selecting this provider for `scope` (merged over `env`). */
  bindings(scope: string): Record<string, unknown>;
  /** Binding overrides with a credential the provider refuses (wrong secret or signing key). */
  wrongCredentials(): Promise<Record<string, unknown>>;
  /** The emulator Worker. */
  emulator: Fetcher;
  /** Calls a control endpoint (faults, stats, reset) of this provider's emulator. */
  control(path: string, init?: RequestInit): Promise<unknown>;
  /** The emulator's operation name for a wrap and an unwrap, as stats count them. */
  ops: { wrap: string; unwrap: string };
}

/** The gcp emulator's settings (test/kms-providers.ts via vitest.config.ts). */
export function gcpTest(): GcpTestSettings {
  return JSON.parse(env.TEST_GCP_KMS) as GcpTestSettings;
}

/** The azure emulator's settings (test/kms-providers.ts via vitest.config.ts). */
export function azureTest(): AzureTestSettings {
  return JSON.parse(env.TEST_AZURE_KV) as AzureTestSettings;
}

async function callControl(emulator: Fetcher, secret: string, path: string, init: RequestInit = {}): Promise<unknown> {
  const headers = new Headers(init.headers);
  headers.set("x-emulator-control", secret);
  const res = await emulator.fetch(`http://emulator.local/__control/${path}`, { ...init, headers });
  if (res.status !== 200) throw new Error(`control ${path} answered ${res.status}: ${await res.text()}`);
  return res.json();
}

const aws: ProviderHarness = {
  name: "aws",
  fresh: () => {
    const tenantId = freshTenant();
    return { tenantId, scope: tenantId };
  },
  settings: (_scope, overrides = {}) => ({ ...kmsSettings(), ...overrides }) as KmsSettings,
  provider: (scope, overrides) => createKmsProvider(aws.settings(scope, overrides), env.KMS_EMULATOR!),
  bindings: () => ({ KMS_PROVIDER: "aws" }),
  wrongCredentials: async () => ({ KMS_SECRET_ACCESS_KEY: "not-the-secret-access-key-0000000000" }),
  get emulator() {
    return env.KMS_EMULATOR!;
  },
  control: (path, init) => control(path, init),
  ops: { wrap: "GenerateDataKey", unwrap: "Decrypt" },
};

const gcp: ProviderHarness = {
  name: "gcp",
  fresh: aws.fresh,
  settings: (_scope, overrides = {}) => {
    const t = gcpTest();
    const serviceAccount = {
      ...JSON.parse(t.serviceAccountJson),
      ...((overrides.serviceAccount as object | undefined) ?? {}),
    };
    return {
      provider: "gcp",
      keyName: t.keyName,
      endpoint: t.endpoint,
      timeoutMs: kmsSettings().timeoutMs,
      ...overrides,
      serviceAccount,
    } as KmsSettings;
  },
  provider: (scope, overrides) => createKmsProvider(gcp.settings(scope, overrides), env.GCP_KMS_EMULATOR!),
  bindings: () => {
    const t = gcpTest();
    return {
      KMS_PROVIDER: "gcp",
      KMS_GCP_KEY_NAME: t.keyName,
      KMS_GCP_ENDPOINT: t.endpoint,
      KMS_GCP_SERVICE_ACCOUNT: t.serviceAccountJson,
    };
  },
  wrongCredentials: async () => {
    const account = { ...JSON.parse(gcpTest().serviceAccountJson), private_key: await otherPrivateKeyPem() };
    return { KMS_GCP_SERVICE_ACCOUNT: JSON.stringify(account) };
  },
  get emulator() {
    return env.GCP_KMS_EMULATOR!;
  },
  control: (path, init) => callControl(env.GCP_KMS_EMULATOR!, gcpTest().emulator.CONTROL_SECRET!, path, init),
  ops: { wrap: "Encrypt", unwrap: "Decrypt" },
};

const azure: ProviderHarness = {
  name: "azure",
  fresh: () => ({ tenantId: freshTenant(), scope: `${azureTest().keyName}--${crypto.randomUUID()}` }),
  settings: (scope, overrides = {}) => {
    const t = azureTest();
    return {
      provider: "azure",
      keyId: `${t.vault}/keys/${scope}`,
      algorithm: "RSA-OAEP-256",
      tenantId: t.tenantId,
      clientId: t.clientId,
      clientSecret: t.clientSecret,
      authorityHost: t.authorityHost,
      timeoutMs: kmsSettings().timeoutMs,
      ...overrides,
    } as KmsSettings;
  },
  provider: (scope, overrides) => createKmsProvider(azure.settings(scope, overrides), env.AZURE_KV_EMULATOR!),
  bindings: (scope) => {
    const t = azureTest();
    return {
      KMS_PROVIDER: "azure",
      KMS_AZURE_KEY_ID: `${t.vault}/keys/${scope}`,
      KMS_AZURE_TENANT_ID: t.tenantId,
      KMS_AZURE_CLIENT_ID: t.clientId,
      KMS_AZURE_CLIENT_SECRET: t.clientSecret,
      KMS_AZURE_AUTHORITY_HOST: t.authorityHost,
    };
  },
  wrongCredentials: async () => ({ KMS_AZURE_CLIENT_SECRET: "not-the-client-secret-000000" }),
  get emulator() {
    return env.AZURE_KV_EMULATOR!;
  },
  control: (path, init) => callControl(env.AZURE_KV_EMULATOR!, azureTest().emulator.CONTROL_SECRET!, path, init),
  ops: { wrap: "wrapkey", unwrap: "unwrapkey" },
};

/** The harness of each provider. */
export const HARNESSES: Record<ProviderName, ProviderHarness> = { aws, gcp, azure };

/** Installs a fault for one scope of a provider's emulator. */
export async function fault(
  h: ProviderHarness,
  scope: string,
  mode: FaultMode,
  extra: { delayMs?: number; count?: number } = {},
): Promise<void> {
  await h.control("faults", { method: "POST", body: JSON.stringify({ tenantId: scope, mode, ...extra }) });
}

/** A scope's call counts by operation. */
export async function stats(h: ProviderHarness, scope: string): Promise<Record<string, number>> {
  return ((await h.control(`stats?tenantId=${encodeURIComponent(scope)}`)) as { calls: Record<string, number> }).calls;
}

/** A PKCS#8 PEM RSA key that is not the test service account's (its assertions are refused). */
export async function otherPrivateKeyPem(): Promise<string> {
  const pair = (await crypto.subtle.generateKey(
    { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
    true,
    ["sign", "verify"],
  )) as CryptoKeyPair;
  const der = new Uint8Array((await crypto.subtle.exportKey("pkcs8", pair.privateKey)) as ArrayBuffer);
  return `-----BEGIN PRIVATE KEY-----\n${btoa(String.fromCharCode(...der))}\n-----END PRIVATE KEY-----\n`;
}
