/**
 * Fixed, test-only settings shared by the workers test project and the Node-side tests.
 * None of these is a real secret: they exist only inside the test runtime.
 */
export const TEST_KMS = {
  keyId: "alias/ghostvault-test",
  region: "us-east-1",
  accessKeyId: "AKIDTESTVAULT0000001",
  secretAccessKey: "test-secret-access-key-not-a-real-one-000",
  // 32 bytes, hex: the emulator's root key in tests.
  rootKey: "5f1c0a7e3b9d2c4e6a8b0d1f3e5c7a9b1d3f5e7c9a0b2d4f6e8a1c3e5a7c9e0b",
  // A second key in the same emulator: the target of a root-key move (issue 13 §2).
  secondKeyId: "alias/ghostvault-test-2",
  secondRootKey: "2b188d89a35e1b18cdef42efa12b5b401b03ee34bea03c011c89aa291cfaa9d5",
} as const;

/**
 * The root operator token of the test runtime (issue 13 §3). Published, so production refuses its
 * hash (worker/contract/config.ts); OPERATOR_TOKEN_HASH below is its SHA-256.
 */
export const TEST_OPERATOR_TOKEN = `gvop_root_${"0".repeat(60)}7e57`;

/** Worker bindings the workers test project runs with. */
export const TEST_BINDINGS = {
  ENVIRONMENT: "test",
  // The one gate of the object's test hooks (fixed clock, lease seeding): durable-objects/test-hooks.ts.
  TEST_HOOKS: "true",
  TOKEN_PEPPER: "fe9ca851537cb7d291ce508300384a8fa9f18cf581644e6f4ccfb36347185f96",
  BOOTSTRAP_SECRET: "test-bootstrap-secret-0123456789abcdef",
  OPERATOR_PLANE_ENABLED: "true",
  OPERATOR_TOKEN_HASH: "89a5e3681ebb62bc1ddb5e447aedd42b846bd701e3fae70d962d8983e6928ef0",
  // Small batches, driven by the tests (runDurableObjectAlarm), so a job can be interrupted mid-way.
  OPERATOR_JOB_CONCURRENCY: "3",
  OPERATOR_JOB_PAUSE_MS: "600000",
  KMS_KEY_ID: TEST_KMS.keyId,
  KMS_REGION: TEST_KMS.region,
  KMS_ACCESS_KEY_ID: TEST_KMS.accessKeyId,
  KMS_SECRET_ACCESS_KEY: TEST_KMS.secretAccessKey,
  KMS_TIMEOUT_MS: "1500",
  KEK_SWEEP_BATCH: "3",
  AUDIT_SIGNING_KEY: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
  AUDIT_HOST: "vault.test",
  AUDIT_CHECKPOINT_EVERY: "10",
  LEASE_EXPIRY_BATCH: "1000",
  // Not a divisor of the batch, so every run ends on a short chunk (test/workers/leases/expiry-lag.test.ts).
  LEASE_EXPIRY_CHUNK: "300",
  // Tests drive the sweep with runDurableObjectAlarm; the runtime must not run it behind them.
  KEK_SWEEP_PAUSE_MS: "600000",
} as const;
