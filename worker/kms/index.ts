import { AwsKmsClient, AwsKmsProvider, type KmsFetch } from "./aws";
import type { KmsProvider } from "./provider";

export { AwsKmsClient, AwsKmsProvider } from "./aws";
export type { AwsKmsClientOptions, EncryptionContext, KmsFetch, KmsOperation } from "./aws";
export { KmsError, kekEncryptionContext } from "./provider";
export type { KekContext, KmsErrorKind, KmsProvider } from "./provider";

/** What `createKmsProvider` needs; the caller takes it from the parsed config, not from env. */
export interface KmsSettings {
  region: string;
  keyId: string;
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  timeoutMs: number;
}

/**
 * Builds the vault's KMS provider. With `fetcher` (the KMS_EMULATOR service binding in
 * development) requests go to that Worker, whatever host `endpoint` names; without it they go
 * out through the global `fetch`. Refusing the emulator in production is config.ts's job.
 */
export function createKmsProvider(settings: KmsSettings, fetcher?: Fetcher): KmsProvider {
  // Bound explicitly: workerd throws "Illegal invocation" if fetch is called detached from its owner.
  const send: KmsFetch = fetcher ? (request) => fetcher.fetch(request) : (request) => fetch(request);
  const client = new AwsKmsClient({ ...settings, fetch: send });
  return new AwsKmsProvider(client, settings.keyId);
}
