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

/** One root key's settings: what `createKmsProvider` needs; the caller takes it from the parsed config, not from env. */
export type KmsSettings = AwsKmsSettings | GcpKmsSettings | AzureKmsSettings;

/**
 * The vault's KMS configuration: the current root, and during a root-key move the previous one
 * (the `KMS_PREVIOUS_*` bindings), whose KEKs are still opened until rotate-root has moved them.
 */
export type KmsRootSettings = KmsSettings & { previous?: KmsSettings };

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

/** Parses one root's `KMS_*` bindings into `KmsSettings`. */
const OneRootSchema = z
  .discriminatedUnion("KMS_PROVIDER", [
    z.object({
      KMS_PROVIDER: z.literal("aws"),
      KMS_REGION: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, "must be an AWS region"),
      KMS_KEY_ID: z.string().min(1),
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

const PREVIOUS = "KMS_PREVIOUS_";

/**
 * Parses the `KMS_*` bindings into `KmsRootSettings`. The previous root is the current bindings
 * overlaid with every `KMS_PREVIOUS_<X>` as `KMS_<X>`, parsed by the same schema: so
 * `KMS_PREVIOUS_KEY_ID` alone means "this AWS account, the old key", `KMS_PREVIOUS_GCP_KEY_NAME`
 * or `KMS_PREVIOUS_AZURE_KEY_ID` a move within that provider, and `KMS_PREVIOUS_PROVIDER` with
 * that provider's `KMS_PREVIOUS_*` settings a move between providers. One schema means one set
 * of rules for both roots; an error names the `KMS_PREVIOUS_*` binding to fix. A previous root
 * that is the current one is refused: it is a deploy mistake (the new key was not set), and
 * left in place it would make a finished move look unfinished.
 */
export const KmsConfigSchema = z
  .custom<Record<string, unknown>>((v) => typeof v === "object" && v !== null, "bindings expected")
  .transform((raw, ctx): KmsRootSettings => {
    const current = OneRootSchema.safeParse(raw);
    if (!current.success) {
      for (const issue of current.error.issues)
        ctx.addIssue({ code: "custom", path: issue.path, message: issue.message });
      return z.NEVER;
    }
    const overrides = Object.entries(raw).filter(([name, value]) => name.startsWith(PREVIOUS) && value !== undefined);
    if (overrides.length === 0) return current.data;
    const overlay = { ...raw };
    for (const [name, value] of overrides) overlay[`KMS_${name.slice(PREVIOUS.length)}`] = value;
    const previous = OneRootSchema.safeParse(overlay);
    if (!previous.success) {
      for (const issue of previous.error.issues) {
        const [field, ...rest] = issue.path;
        const named = typeof field === "string" ? field.replace(/^KMS_/, PREVIOUS) : field;
        ctx.addIssue({ code: "custom", path: [named ?? PREVIOUS, ...rest], message: issue.message });
      }
      return z.NEVER;
    }
    if (
      rootKeyLabel(previous.data) === rootKeyLabel(current.data) &&
      endpointOf(previous.data) === endpointOf(current.data)
    ) {
      ctx.addIssue({
        code: "custom",
        path: [overrides[0]![0]],
        message: "KMS_PREVIOUS_* names the same root key as KMS_*: set KMS_* to the new root, or remove KMS_PREVIOUS_*",
      });
      return z.NEVER;
    }
    return { ...current.data, previous: previous.data };
  });

/** How a root key is named in KEK rows and audit entries: `<provider>:<key id or name>`, never key material. */
export function rootKeyLabel(kms: KmsSettings): string {
  return `${kms.provider}:${kms.provider === "gcp" ? kms.keyName : kms.keyId}`;
}

/**
 * Where a root's KMS lives, beyond its key name: an AWS alias is per account (told apart here by
 * the access key id, which is not secret), a gcp key name includes its project, an Azure key id its vault.
 */
function endpointOf(kms: KmsSettings): string {
  if (kms.provider === "aws") return `${kms.endpoint} ${kms.region} ${kms.accessKeyId}`;
  return kms.provider === "gcp" ? kms.endpoint : "";
}

/** Secrets that belong to each provider: production refuses those of a provider it does not use. */
const PROVIDER_SECRETS = {
  aws: ["KMS_ACCESS_KEY_ID", "KMS_SECRET_ACCESS_KEY"],
  gcp: ["KMS_GCP_SERVICE_ACCOUNT"],
  azure: ["KMS_AZURE_CLIENT_SECRET"],
} as const;

/** Every provider's secret binding names, for the current root and the previous one. */
export const KMS_SECRET_BINDINGS: readonly string[] = Object.values(PROVIDER_SECRETS)
  .flat()
  .flatMap((name) => [name, name.replace(/^KMS_/, PREVIOUS)]);

const AZURE_VAULT_HOST =
  /\.(vault\.azure\.net|vault\.azure\.cn|vault\.usgovcloudapi\.net|managedhsm\.azure\.net|managedhsm\.azure\.cn|managedhsm\.usgovcloudapi\.net)$/;
const AZURE_AUTHORITY = /^https:\/\/login\.(microsoftonline\.com|microsoftonline\.us|chinacloudapi\.cn)\/?$/;

/**
 * Why these KMS settings must not run in production: endpoints that are not the provider's own
 * https API (an emulator holds its root key in plain sight), and inconsistent settings that
 * would only fail later, or leave another provider's credentials lying around.
 */
export function productionKmsProblems(settings: KmsRootSettings, secretsSet: readonly string[]): string[] {
  const own = secretsSet.filter((name) => !name.startsWith(PREVIOUS));
  const problems = rootProblems(settings, own, "KMS_");
  // The previous root meets the same bar: its endpoint is the provider's own, and its secrets are
  // KMS_PREVIOUS_* secrets of its provider (an unprefixed one is the current root's).
  const previousSecrets = secretsSet
    .filter((name) => name.startsWith(PREVIOUS))
    .map((n) => `KMS_${n.slice(PREVIOUS.length)}`);
  if (settings.previous) problems.push(...rootProblems(settings.previous, previousSecrets, PREVIOUS));
  return problems;
}

/** One root's problems; `p` is the binding prefix its messages name (KMS_ or KMS_PREVIOUS_). */
function rootProblems(settings: KmsSettings, secretsSet: readonly string[], p: string): string[] {
  const problems: string[] = [];
  for (const [provider, names] of Object.entries(PROVIDER_SECRETS)) {
    if (provider === settings.provider) continue;
    for (const name of names) {
      if (secretsSet.includes(name))
        problems.push(`${name.replace(/^KMS_/, p)} is set but ${p}PROVIDER is ${settings.provider}`);
    }
  }
  switch (settings.provider) {
    case "aws":
      if (!/^https:\/\/kms(-fips)?\.[a-z0-9-]+\.amazonaws\.com\/?$/.test(settings.endpoint)) {
        problems.push(`production ${p}ENDPOINT must be an AWS KMS https endpoint`);
      }
      break;
    case "gcp":
      if (!/^https:\/\/cloudkms(\.[a-z0-9-]+\.rep)?\.googleapis\.com\/?$/.test(settings.endpoint)) {
        problems.push(`production ${p}GCP_ENDPOINT must be a Cloud KMS https endpoint`);
      }
      if (settings.serviceAccount.token_uri !== "https://oauth2.googleapis.com/token") {
        problems.push(`production ${p}GCP_SERVICE_ACCOUNT token_uri must be https://oauth2.googleapis.com/token`);
      }
      break;
    case "azure": {
      const url = new URL(settings.keyId);
      if (url.protocol !== "https:" || !AZURE_VAULT_HOST.test(url.hostname)) {
        problems.push(`production ${p}AZURE_KEY_ID must be an https Key Vault or Managed HSM key id`);
      }
      if (!AZURE_AUTHORITY.test(settings.authorityHost))
        problems.push(`production ${p}AZURE_AUTHORITY_HOST must be an Entra login host`);
      // Key Vault (vaults) holds RSA keys only; AES key wrap needs a Managed HSM oct-HSM key.
      if (settings.algorithm === "A256KW" && !url.hostname.includes(".managedhsm.")) {
        problems.push(`${p}AZURE_ALGORITHM A256KW needs a Managed HSM key`);
      }
      break;
    }
  }
  return problems;
}
