import { env } from "cloudflare:test";

/**
 * The test pool's bindings as a valid production configuration: production refuses every
 * development-only binding (the KMS emulators, the test OIDC issuer, the TEST_HOOKS gate, a witness behind a service binding), and a developer's .dev.vars
 * may hold the gcp/azure dev secrets (GHOSTVAULT_KMS), which production with aws refuses too. The
 * operator plane is off: the test operator token is published, and production refuses its hash.
 */
export function productionEnv(overrides: Record<string, unknown> = {}): Env {
  const {
    KMS_EMULATOR: _kms,
    GCP_KMS_EMULATOR: _gcp,
    AZURE_KV_EMULATOR: _azure,
    OIDC_TEST_ISSUER: _issuer,
    TEST_HOOKS: _hooks,
    USE_TEST_UPSTREAM: _upstream,
    METRICS_TEST_SINK: _sink,
    KMS_GCP_SERVICE_ACCOUNT: _sa,
    KMS_AZURE_CLIENT_SECRET: _cs,
    // The test witness is reached through a service binding, which production refuses.
    AUDIT_WITNESSES: _witnesses,
    AUDIT_WITNESS_DEV: _devWitness,
    OPERATOR_PLANE_ENABLED: _plane,
    OPERATOR_TOKEN_HASH: _opHash,
    ...rest
  } = env as unknown as Record<string, unknown>;
  return {
    ...rest,
    ENVIRONMENT: "production",
    KMS_ENDPOINT: "https://kms.us-east-1.amazonaws.com",
    ...overrides,
  } as unknown as Env;
}
