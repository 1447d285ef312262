import { AwsKmsClient, AwsKmsProvider } from "./aws";
import { AzureKeyVaultClient, AzureKeyVaultProvider } from "./azure";
import { GcpKmsClient, GcpKmsProvider } from "./gcp";
import type { KmsFetch } from "./http";
import { MovingKmsProvider } from "./moving";
import type { KmsProvider } from "./provider";
import type { KmsRootSettings, KmsSettings } from "./settings";

export { AwsKmsClient, AwsKmsProvider } from "./aws";
export type { AwsKmsClientOptions, EncryptionContext, KmsOperation } from "./aws";
export { AzureKeyVaultClient, AzureKeyVaultProvider } from "./azure";
export { GcpKmsClient, GcpKmsProvider } from "./gcp";
export type { KmsFetch } from "./http";
export { KmsError, kekContextBytes, kekEncryptionContext } from "./provider";
export type { KekContext, KmsErrorKind, KmsProvider } from "./provider";
export { MovingKmsProvider } from "./moving";
export { KMS_SECRET_BINDINGS, KmsConfigSchema, productionKmsProblems, rootKeyLabel } from "./settings";
export type { AwsKmsSettings, AzureKmsSettings, GcpKmsSettings, KmsRootSettings, KmsSettings } from "./settings";

/**
 * Builds the vault's KMS provider. With `fetcher` (the provider's emulator service binding in
 * development) requests go to that Worker, whatever hosts the settings name; without it they go
 * out through the global `fetch`. Refusing emulators in production is config.ts's job.
 * With a previous root (a root-key move), a `MovingKmsProvider` over both; `previousFetcher` is
 * the previous root's provider's emulator binding, since a move may cross providers.
 */
export function createKmsProvider(
  settings: KmsRootSettings,
  fetcher?: Fetcher,
  previousFetcher?: Fetcher,
): KmsProvider {
  const current = oneRoot(settings, fetcher);
  return settings.previous ? new MovingKmsProvider(current, oneRoot(settings.previous, previousFetcher)) : current;
}

function oneRoot(settings: KmsSettings, fetcher: Fetcher | undefined): KmsProvider {
  // Bound explicitly: workerd throws "Illegal invocation" if fetch is called detached from its owner.
  const send: KmsFetch = fetcher ? (request) => fetcher.fetch(request) : (request) => fetch(request);
  switch (settings.provider) {
    case "aws":
      return new AwsKmsProvider(new AwsKmsClient({ ...settings, fetch: send }), settings.keyId);
    case "gcp":
      return new GcpKmsProvider(new GcpKmsClient({ ...settings, fetch: send }));
    case "azure":
      return new AzureKeyVaultProvider(new AzureKeyVaultClient({ ...settings, fetch: send }));
  }
}

/** The development emulator binding each provider's requests go to (absent in production). */
export const KMS_EMULATOR_BINDINGS = {
  aws: "KMS_EMULATOR",
  gcp: "GCP_KMS_EMULATOR",
  azure: "AZURE_KV_EMULATOR",
} as const;
