import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../../worker/contract/config";
import { KMS_SECRET_BINDINGS } from "../../../worker/core/kms";
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
});
