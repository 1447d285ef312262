import { z } from "zod";
import { AZURE_WRAP_ALGORITHMS, parseAzureKeyId } from "./azure";
import { GcpServiceAccountSchema, type GcpServiceAccount } from "./gcp";

/**
 * The KMS part of the Worker's configuration (worker/contract/config.ts), one shape per `KMS_PROVIDER`.
 * Binding names are flat SCREAMING_SNAKE like every other setting; this module turns them into
 * the `KmsSettings` that `createKmsProvider` takes.
 */

/** Settings of the `aws` provider (AWS KMS, or the dev/kms emulator). */
export interface AwsKmsSettings {
  provider: "aws";
  region: string;
  keyId: string;
  /** The key the vault used before moving to `keyId` (KMS_PREVIOUS_KEY_ID), until root-key rotation has rewrapped every KEK. */
  previousKeyId?: string;
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  timeoutMs: number;
}

/** Settings of the `gcp` provider (Cloud KMS, or the dev/gcp-kms emulator). */
export interface GcpKmsSettings {
  provider: "gcp";
  keyName: string;
  endpoint: string;
  serviceAccount: GcpServiceAccount;
  timeoutMs: number;
}

/** Settings of the `azure` provider (Key Vault / Managed HSM, or the dev/azure-kv emulator). */
export interface AzureKmsSettings {
  provider: "azure";
  keyId: string;
  algorithm: (typeof AZURE_WRAP_ALGORITHMS)[number];
  tenantId: string;
  clientId: string;
  clientSecret: string;
  authorityHost: string;
  timeoutMs: number;
}

/** What `createKmsProvider` needs; the caller takes it from the parsed config, not from env. */
export type KmsSettings = AwsKmsSettings | GcpKmsSettings | AzureKmsSettings;

const timeout = z.coerce.number().int().positive().max(60_000).default(5000);
const GCP_KEY_NAME =
  /^projects\/[a-z][a-z0-9-]{4,61}[a-z0-9]\/locations\/[a-z0-9-]+\/keyRings\/[A-Za-z0-9_-]{1,63}\/cryptoKeys\/[A-Za-z0-9_-]{1,63}$/;

const ServiceAccountJson = z.string().transform((text, ctx) => {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    ctx.addIssue({ code: "custom", message: "must be a service-account JSON key" });
    return z.NEVER;
  }
  const parsed = GcpServiceAccountSchema.safeParse(json);
  if (parsed.success) return parsed.data;
  // Field names only: the messages could quote the private key.
  ctx.addIssue({
    code: "custom",
    message: `service-account JSON lacks or has invalid ${parsed.error.issues.map((i) => i.path.join(".")).join(", ")}`,
  });
  return z.NEVER;
});

const AzureKeyId = z.url().refine((value) => {
  try {
    parseAzureKeyId(value);
    return true;
  } catch {
    return false;
  }
}, "must be <vault>/keys/<name>[/<version>]");

/** Parses the `KMS_*` bindings into `KmsSettings`. */
export const KmsConfigSchema = z
  .discriminatedUnion("KMS_PROVIDER", [
    z.object({
      KMS_PROVIDER: z.literal("aws"),
      KMS_REGION: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, "must be an AWS region"),
      KMS_KEY_ID: z.string().min(1),
      KMS_PREVIOUS_KEY_ID: z.string().min(1).optional(),
      KMS_ENDPOINT: z.url(),
      KMS_ACCESS_KEY_ID: z.string().min(1),
      KMS_SECRET_ACCESS_KEY: z.string().min(1),
      KMS_TIMEOUT_MS: timeout,
    }),
    z.object({
      KMS_PROVIDER: z.literal("gcp"),
      KMS_GCP_KEY_NAME: z.string().regex(GCP_KEY_NAME, "must be projects/P/locations/L/keyRings/R/cryptoKeys/K"),
      KMS_GCP_ENDPOINT: z.url().default("https://cloudkms.googleapis.com"),
      KMS_GCP_SERVICE_ACCOUNT: ServiceAccountJson,
      KMS_TIMEOUT_MS: timeout,
    }),
    z.object({
      KMS_PROVIDER: z.literal("azure"),
      KMS_AZURE_KEY_ID: AzureKeyId,
      KMS_AZURE_ALGORITHM: z.enum(AZURE_WRAP_ALGORITHMS).default("RSA-OAEP-256"),
      KMS_AZURE_TENANT_ID: z.string().regex(/^[A-Za-z0-9.-]{1,128}$/, "must be a directory (tenant) id or domain"),
      KMS_AZURE_CLIENT_ID: z.string().min(1).max(128),
      KMS_AZURE_CLIENT_SECRET: z.string().min(1),
      KMS_AZURE_AUTHORITY_HOST: z.url().default("https://login.microsoftonline.com"),
      KMS_TIMEOUT_MS: timeout,
    }),
  ])
  .transform((c): KmsSettings => {
    switch (c.KMS_PROVIDER) {
      case "aws":
        return {
          provider: "aws",
          region: c.KMS_REGION,
          keyId: c.KMS_KEY_ID,
          ...(c.KMS_PREVIOUS_KEY_ID !== undefined && c.KMS_PREVIOUS_KEY_ID !== c.KMS_KEY_ID
            ? { previousKeyId: c.KMS_PREVIOUS_KEY_ID }
            : {}),
          endpoint: c.KMS_ENDPOINT,
          accessKeyId: c.KMS_ACCESS_KEY_ID,
          secretAccessKey: c.KMS_SECRET_ACCESS_KEY,
          timeoutMs: c.KMS_TIMEOUT_MS,
        };
      case "gcp":
        return {
          provider: "gcp",
          keyName: c.KMS_GCP_KEY_NAME,
          endpoint: c.KMS_GCP_ENDPOINT,
          serviceAccount: c.KMS_GCP_SERVICE_ACCOUNT,
          timeoutMs: c.KMS_TIMEOUT_MS,
        };
      case "azure":
        return {
          provider: "azure",
          keyId: c.KMS_AZURE_KEY_ID,
          algorithm: c.KMS_AZURE_ALGORITHM,
          tenantId: c.KMS_AZURE_TENANT_ID,
          clientId: c.KMS_AZURE_CLIENT_ID,
          clientSecret: c.KMS_AZURE_CLIENT_SECRET,
          authorityHost: c.KMS_AZURE_AUTHORITY_HOST,
          timeoutMs: c.KMS_TIMEOUT_MS,
        };
    }
  });

/** Secrets that belong to each provider: production refuses those of a provider it does not use. */
const PROVIDER_SECRETS = {
  aws: ["KMS_ACCESS_KEY_ID", "KMS_SECRET_ACCESS_KEY"],
  gcp: ["KMS_GCP_SERVICE_ACCOUNT"],
  azure: ["KMS_AZURE_CLIENT_SECRET"],
} as const;

/** Every provider's secret binding names. */
export const KMS_SECRET_BINDINGS: readonly string[] = Object.values(PROVIDER_SECRETS).flat();

const AZURE_VAULT_HOST =
  /\.(vault\.azure\.net|vault\.azure\.cn|vault\.usgovcloudapi\.net|managedhsm\.azure\.net|managedhsm\.azure\.cn|managedhsm\.usgovcloudapi\.net)$/;
const AZURE_AUTHORITY = /^https:\/\/login\.(microsoftonline\.com|microsoftonline\.us|chinacloudapi\.cn)\/?$/;

/**
 * Why these KMS settings must not run in production: endpoints that are not the provider's own
 * https API (an emulator holds its root key in plain sight), and inconsistent settings that
 * would only fail later, or leave another provider's credentials lying around.
 */
export function productionKmsProblems(settings: KmsSettings, secretsSet: readonly string[]): string[] {
  const problems: string[] = [];
  for (const [provider, names] of Object.entries(PROVIDER_SECRETS)) {
    if (provider === settings.provider) continue;
    for (const name of names) {
      if (secretsSet.includes(name)) problems.push(`${name} is set but KMS_PROVIDER is ${settings.provider}`);
    }
  }
  switch (settings.provider) {
    case "aws":
      if (!/^https:\/\/kms(-fips)?\.[a-z0-9-]+\.amazonaws\.com\/?$/.test(settings.endpoint)) {
        problems.push("production KMS_ENDPOINT must be an AWS KMS https endpoint");
      }
      break;
    case "gcp":
      if (!/^https:\/\/cloudkms(\.[a-z0-9-]+\.rep)?\.googleapis\.com\/?$/.test(settings.endpoint)) {
        problems.push("production KMS_GCP_ENDPOINT must be a Cloud KMS https endpoint");
      }
      if (settings.serviceAccount.token_uri !== "https://oauth2.googleapis.com/token") {
        problems.push("production KMS_GCP_SERVICE_ACCOUNT token_uri must be https://oauth2.googleapis.com/token");
      }
      break;
    case "azure": {
      const url = new URL(settings.keyId);
      if (url.protocol !== "https:" || !AZURE_VAULT_HOST.test(url.hostname)) {
        problems.push("production KMS_AZURE_KEY_ID must be an https Key Vault or Managed HSM key id");
      }
      if (!AZURE_AUTHORITY.test(settings.authorityHost))
        problems.push("production KMS_AZURE_AUTHORITY_HOST must be an Entra login host");
      // Key Vault (vaults) holds RSA keys only; AES key wrap needs a Managed HSM oct-HSM key.
      if (settings.algorithm === "A256KW" && !url.hostname.includes(".managedhsm.")) {
        problems.push("KMS_AZURE_ALGORITHM A256KW needs a Managed HSM key");
      }
      break;
    }
  }
  return problems;
}
