import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../worker/contract/config";
import { KMS_SECRET_BINDINGS, KmsConfigSchema } from "../../../worker/core/kms";
import { TEST_KMS } from "../../test-env";
import { gcpTest } from "./providers";

/**
 * The test bindings as production would have them: no development-only bindings (TEST_HOOKS and the witness service binding too) and no KMS
 * secret of any provider (a developer's .dev.vars may add the gcp/azure ones), then `extra`. The operator
 * plane is off: production refuses the published test operator token's hash.
 */
function production(extra: Record<string, unknown>): Env {
  const {
    KMS_EMULATOR: _a,
    GCP_KMS_EMULATOR: _g,
    AZURE_KV_EMULATOR: _z,
    OIDC_TEST_ISSUER: _o,
    TEST_HOOKS: _t,
    USE_TEST_UPSTREAM: _u,
    AUDIT_WITNESSES: _w,
    AUDIT_WITNESS_DEV: _dw,
    METRICS_TEST_SINK: _m,
    OPERATOR_PLANE_ENABLED: _p,
    OPERATOR_TOKEN_HASH: _h,
    ...rest
  } = env as unknown as Record<string, unknown>;
  for (const name of KMS_SECRET_BINDINGS) delete rest[name];
  return { ...rest, ENVIRONMENT: "production", ...extra } as unknown as Env;
}

/** Whether loadConfig accepts these bindings (it throws VaultError misconfigured otherwise). */
function accepted(bindings: Env): boolean {
  try {
    loadConfig(bindings);
    return true;
  } catch (error) {
    expect(error).toMatchObject({ code: "misconfigured" });
    return false;
  }
}

const googleSa = () =>
  JSON.stringify({ ...JSON.parse(gcpTest().serviceAccountJson), token_uri: "https://oauth2.googleapis.com/token" });
const gcp = (extra: Record<string, unknown> = {}) =>
  production({
    KMS_PROVIDER: "gcp",
    KMS_GCP_KEY_NAME: gcpTest().keyName,
    KMS_GCP_SERVICE_ACCOUNT: googleSa(),
    ...extra,
  });
const azure = (extra: Record<string, unknown> = {}) =>
  production({
    KMS_PROVIDER: "azure",
    KMS_AZURE_KEY_ID: "https://contoso-vault.vault.azure.net/keys/tenant-keks",
    KMS_AZURE_TENANT_ID: "72f988bf-86f1-41af-91ab-2d7cd011db47",
    KMS_AZURE_CLIENT_ID: "0f3a7c1e-2b4d-4e6f-8a9b-1c2d3e4f5a6b",
    KMS_AZURE_CLIENT_SECRET: "client-secret-value",
    ...extra,
  });

describe("KMS_PROVIDER settings", () => {
  it("production accepts Cloud KMS with Google's endpoints, and refuses an emulator endpoint, token_uri or binding", () => {
    expect(accepted(gcp())).toBe(true);
    expect(accepted(gcp({ KMS_GCP_ENDPOINT: "https://cloudkms.europe-west3.rep.googleapis.com" }))).toBe(true);
    expect(accepted(gcp({ KMS_GCP_ENDPOINT: "http://gcp-kms.emulator" }))).toBe(false);
    expect(accepted(gcp({ KMS_GCP_SERVICE_ACCOUNT: gcpTest().serviceAccountJson }))).toBe(false);
    expect(accepted(gcp({ GCP_KMS_EMULATOR: env.GCP_KMS_EMULATOR }))).toBe(false);
  });

  it("production accepts Key Vault and Managed HSM keys, and refuses emulator hosts, a foreign authority and A256KW on a vault key", () => {
    expect(accepted(azure())).toBe(true);
    expect(
      accepted(
        azure({
          KMS_AZURE_KEY_ID: "https://contoso.managedhsm.azure.net/keys/k/0123abcd",
          KMS_AZURE_ALGORITHM: "A256KW",
        }),
      ),
    ).toBe(true);
    expect(accepted(azure({ KMS_AZURE_KEY_ID: "http://azure-kv.emulator/keys/tenant-keks" }))).toBe(false);
    expect(accepted(azure({ KMS_AZURE_AUTHORITY_HOST: "http://azure-kv.emulator" }))).toBe(false);
    expect(accepted(azure({ KMS_AZURE_ALGORITHM: "A256KW" }))).toBe(false);
    expect(accepted(azure({ AZURE_KV_EMULATOR: env.AZURE_KV_EMULATOR }))).toBe(false);
  });

  it("production refuses another provider's secrets beside the chosen one", () => {
    expect(accepted(gcp({ KMS_SECRET_ACCESS_KEY: "left-over" }))).toBe(false);
    expect(accepted(azure({ KMS_GCP_SERVICE_ACCOUNT: googleSa() }))).toBe(false);
    expect(accepted(azure())).toBe(true);
  });

  it("refuses, in any environment, an unknown provider or one with missing or malformed settings", () => {
    const dev = (extra: Record<string, unknown>) => ({ ...env, ...extra }) as unknown as Env;
    expect(accepted(dev({ KMS_PROVIDER: "vault" }))).toBe(false);
    expect(accepted(dev({ KMS_PROVIDER: "gcp", KMS_GCP_SERVICE_ACCOUNT: googleSa() }))).toBe(false);
    expect(
      accepted(dev({ KMS_PROVIDER: "gcp", KMS_GCP_KEY_NAME: gcpTest().keyName, KMS_GCP_SERVICE_ACCOUNT: "{not json" })),
    ).toBe(false);
    expect(
      accepted(
        dev({
          KMS_PROVIDER: "azure",
          KMS_AZURE_KEY_ID: "https://v.vault.azure.net/secrets/x",
          KMS_AZURE_TENANT_ID: "t",
          KMS_AZURE_CLIENT_ID: "c",
          KMS_AZURE_CLIENT_SECRET: "s",
        }),
      ),
    ).toBe(false);
    // Positive control: complete gcp settings outside production, with the emulator.
    expect(
      accepted(
        dev({
          KMS_PROVIDER: "gcp",
          KMS_GCP_KEY_NAME: gcpTest().keyName,
          KMS_GCP_SERVICE_ACCOUNT: gcpTest().serviceAccountJson,
        }),
      ),
    ).toBe(true);
  });

  it("a previous root (KMS_PREVIOUS_*) is the current bindings overlaid, parsed by the same rules; errors name the KMS_PREVIOUS_* binding", () => {
    const parse = (extra: Record<string, unknown>) => KmsConfigSchema.safeParse({ ...env, ...extra });
    const paths = (extra: Record<string, unknown>) => {
      const r = parse(extra);
      return r.success ? [] : r.error.issues.map((i) => i.path.join("."));
    };
    // Backwards compatible: KMS_PREVIOUS_KEY_ID alone is this AWS account's old key.
    const aws = parse({ KMS_KEY_ID: TEST_KMS.secondKeyId, KMS_PREVIOUS_KEY_ID: TEST_KMS.keyId });
    expect(aws.success && aws.data.previous).toMatchObject({ provider: "aws", keyId: TEST_KMS.keyId });
    expect(aws.success && aws.data).toMatchObject({ provider: "aws", keyId: TEST_KMS.secondKeyId });
    // Control: without KMS_PREVIOUS_* there is no previous root.
    const plain = parse({});
    expect(plain.success && plain.data.previous).toBeUndefined();
    // Another provider, and another key name within gcp.
    const gcpNow = {
      KMS_PROVIDER: "gcp",
      KMS_GCP_KEY_NAME: gcpTest().secondKeyName,
      KMS_GCP_SERVICE_ACCOUNT: googleSa(),
    };
    const cross = parse({ ...gcpNow, KMS_PREVIOUS_PROVIDER: "aws" });
    expect(cross.success && cross.data.previous).toMatchObject({ provider: "aws", keyId: TEST_KMS.keyId });
    const within = parse({ ...gcpNow, KMS_PREVIOUS_GCP_KEY_NAME: gcpTest().keyName });
    expect(within.success && within.data.previous).toMatchObject({ provider: "gcp", keyName: gcpTest().keyName });
    // Wrong previous settings name the KMS_PREVIOUS_* binding to fix.
    expect(paths({ KMS_PREVIOUS_REGION: "nowhere" })).toEqual(["KMS_PREVIOUS_REGION"]);
    expect(paths({ KMS_PREVIOUS_PROVIDER: "gcp" })).toEqual([
      "KMS_PREVIOUS_GCP_KEY_NAME",
      "KMS_PREVIOUS_GCP_SERVICE_ACCOUNT",
    ]);
    expect(paths({ KMS_PREVIOUS_PROVIDER: "vault" })).toEqual(["KMS_PREVIOUS_PROVIDER"]);
    // A previous root that is the current one is a deploy mistake (the new key was not set).
    expect(paths({ KMS_PREVIOUS_KEY_ID: env.KMS_KEY_ID })).toEqual(["KMS_PREVIOUS_KEY_ID"]);
    // The same alias in another AWS account (other credentials) is another key.
    expect(
      paths({
        KMS_PREVIOUS_KEY_ID: env.KMS_KEY_ID,
        KMS_PREVIOUS_ACCESS_KEY_ID: "AKIAOTHERACCOUNT0000",
        KMS_PREVIOUS_SECRET_ACCESS_KEY: "other-account-secret",
      }),
    ).toEqual([]);
    expect(paths({ ...gcpNow, KMS_PREVIOUS_GCP_KEY_NAME: gcpTest().secondKeyName })).toEqual([
      "KMS_PREVIOUS_GCP_KEY_NAME",
    ]);
  });

  it("production holds the previous root to the same bar: the provider's own endpoint, its own KMS_PREVIOUS_* secrets", () => {
    const fromAws = (extra: Record<string, unknown> = {}) =>
      gcp({
        KMS_PREVIOUS_PROVIDER: "aws",
        KMS_PREVIOUS_ENDPOINT: "https://kms.us-east-1.amazonaws.com",
        KMS_PREVIOUS_ACCESS_KEY_ID: "AKIAEXAMPLEEXAMPLE00",
        KMS_PREVIOUS_SECRET_ACCESS_KEY: "previous-secret-access-key",
        ...extra,
      });
    expect(accepted(fromAws())).toBe(true);
    expect(accepted(fromAws({ KMS_PREVIOUS_ENDPOINT: "http://kms.emulator.local" }))).toBe(false);
    expect(accepted(fromAws({ KMS_PREVIOUS_GCP_SERVICE_ACCOUNT: googleSa() }))).toBe(false);
    // The current root's secrets stay unprefixed: an AWS secret beside a gcp root is still refused.
    expect(accepted(fromAws({ KMS_SECRET_ACCESS_KEY: "left-over" }))).toBe(false);
    expect(accepted(azure({ KMS_PREVIOUS_AZURE_KEY_ID: "https://contoso-vault.vault.azure.net/keys/old-keks" }))).toBe(
      true,
    );
    expect(accepted(azure({ KMS_PREVIOUS_AZURE_KEY_ID: "http://azure-kv.emulator/keys/old-keks" }))).toBe(false);
  });
});
