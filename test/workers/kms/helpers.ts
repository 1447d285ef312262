import { env } from "cloudflare:test";
import { expect } from "vitest";
import { z } from "zod";
import {
  AwsKmsClient,
  createKmsProvider,
  KmsError,
  type AwsKmsSettings,
  type KmsProvider,
} from "../../../worker/core/kms";

// Only the KMS bindings: this suite must not fail because an unrelated setting is off.
// KMS_TIMEOUT_MS is a test binding (test/test-env.ts) missing from the generated Env type.
const KmsBindings = z.object({
  KMS_REGION: z.string().min(1),
  KMS_KEY_ID: z.string().min(1),
  KMS_ENDPOINT: z.url(),
  KMS_ACCESS_KEY_ID: z.string().min(1),
  KMS_SECRET_ACCESS_KEY: z.string().min(1),
  KMS_TIMEOUT_MS: z.coerce.number().int().positive(),
});

/** The KMS settings of the test bindings, as the vault's caller would pass them. */
export function kmsSettings(overrides: Partial<AwsKmsSettings> = {}): AwsKmsSettings {
  const b = KmsBindings.parse(env);
  return {
    provider: "aws",
    region: b.KMS_REGION,
    keyId: b.KMS_KEY_ID,
    endpoint: b.KMS_ENDPOINT,
    accessKeyId: b.KMS_ACCESS_KEY_ID,
    secretAccessKey: b.KMS_SECRET_ACCESS_KEY,
    timeoutMs: b.KMS_TIMEOUT_MS,
    ...overrides,
  };
}

/** The vault's provider, talking to the emulator through the KMS_EMULATOR service binding. */
export function emulatorProvider(overrides: Partial<AwsKmsSettings> = {}): KmsProvider {
  return createKmsProvider(kmsSettings(overrides), env.KMS_EMULATOR!);
}

/** A raw protocol client over the same binding, for operations the provider does not use. */
export function emulatorClient(overrides: Partial<AwsKmsSettings> = {}): AwsKmsClient {
  return new AwsKmsClient({ ...kmsSettings(overrides), fetch: (request) => env.KMS_EMULATOR!.fetch(request) });
}

/** A tenant id no other test uses: faults and stats in the emulator are scoped by it. */
export function freshTenant(): string {
  return `tenant-${crypto.randomUUID()}`;
}

/** A fault as `POST /__control/faults` takes it. */
export interface FaultSpec {
  tenantId: string;
  mode: "none" | "delay" | "error" | "throttle" | "garbage";
  delayMs?: number;
  count?: number;
}

/** Calls an emulator control endpoint and returns its JSON; fails the test on a non-200. */
export async function control(path: string, init: RequestInit = {}): Promise<unknown> {
  const headers = new Headers(init.headers);
  headers.set("x-emulator-control", kmsSettings().secretAccessKey);
  const res = await env.KMS_EMULATOR!.fetch(`http://kms-emulator.local/__control/${path}`, { ...init, headers });
  if (res.status !== 200) throw new Error(`control ${path} answered ${res.status}: ${await res.text()}`);
  return res.json();
}

/** Installs a fault for one tenant. */
export async function setFault(fault: FaultSpec): Promise<void> {
  await control("faults", { method: "POST", body: JSON.stringify(fault) });
}

/** The emulator's call counts for one tenant, by operation. */
export async function callStats(tenantId: string): Promise<Record<string, number>> {
  const body = (await control(`stats?tenantId=${encodeURIComponent(tenantId)}`)) as { calls: Record<string, number> };
  return body.calls;
}

/** Awaits `promise` and returns the KmsError it rejected with (fails the test otherwise). */
export async function kmsFailure(promise: Promise<unknown>): Promise<KmsError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(KmsError);
  return error as KmsError;
}
