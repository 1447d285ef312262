/**
 * Test settings of the audit witness (dev/witness) run as an auxiliary Worker by the workers
 * project, and what the test vault needs to know about it. Fixed seeds: nothing here is a real
 * secret. Verifier keys come from dev/witness/vkey.mjs (node:crypto), as `npm run dev` makes them.
 */
import { vkeyOf } from "../dev/witness/vkey.mjs";

/** The witness's key (an RFC 8032 seed), name, and a second log only the witness tests sign for. */
export const TEST_WITNESS = {
  name: "witness.test/w1",
  seed: "2f3c6a1e9b8d7c6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f",
  /** A log that only test/workers/witness/*.test.ts signs for, so they can build any tree. */
  protocolLog: {
    prefix: "witness-test.example/",
    keyName: "witness-test.example/log",
    seed: "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90",
  },
} as const;

export { vkeyOf };

/** The witness's verifier key, as the vault is configured with it. */
export const TEST_WITNESS_VKEY = vkeyOf(TEST_WITNESS.name, TEST_WITNESS.seed, 0x04);

/**
 * The key name of the vault's Merkle checkpoints for AUDIT_HOST `host` (origins
 * `<host>/audit/v2/<tenant>`): merkleKeyName() of worker/core/audit/signing-key.ts, written out so
 * vitest.config.ts imports no Worker module (test/workers/witness/witness.test.ts checks they agree).
 */
export function vaultKeyName(host: string): string {
  return `${host}/audit/v2`;
}

/** The test vault's AUDIT_WITNESSES: the auxiliary witness, reached through the TEST_WITNESS binding. */
export const TEST_AUDIT_WITNESSES = JSON.stringify([
  { name: TEST_WITNESS.name, vkey: TEST_WITNESS_VKEY, binding: "TEST_WITNESS" },
]);

/** The auxiliary witness Worker's bindings: it witnesses the test vault and the tests' toy log. */
export function witnessBindings(vault: { AUDIT_HOST: string; AUDIT_SIGNING_KEY: string }): Record<string, string> {
  const logs = [
    {
      prefix: `${vaultKeyName(vault.AUDIT_HOST)}/`,
      vkey: vkeyOf(vaultKeyName(vault.AUDIT_HOST), vault.AUDIT_SIGNING_KEY, 0x01),
    },
    {
      prefix: TEST_WITNESS.protocolLog.prefix,
      vkey: vkeyOf(TEST_WITNESS.protocolLog.keyName, TEST_WITNESS.protocolLog.seed, 0x01),
    },
  ];
  return {
    WITNESS_NAME: TEST_WITNESS.name,
    WITNESS_SIGNING_KEY: TEST_WITNESS.seed,
    WITNESS_LOGS: JSON.stringify(logs),
  };
}
