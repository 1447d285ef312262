/**
 * Workers test files that abort Durable Objects (`abortAllDurableObjects()`, an `abortAt` fault, a
 * `crash…ForTest` hook). They run in the `workers-crash` project, one runtime per file: in the
 * shared runtime an abort mid-run could leave the whole run waiting with no output, as in
 * cloudflare/workers-sdk#15498 and vitest-dev/vitest#10590 (a runner that dies mid-task under
 * `isolate: false` strands the run); we saw three such stalls in six loaded runs, each right after
 * a file that aborts objects (docs/testing.md). test/node/meta/crash-tests.test.ts keeps this list
 * complete.
 */
export const CRASH_TESTS: readonly string[] = [
  "test/workers/audit-log/canary.test.ts",
  "test/workers/audit-log/eviction.test.ts",
  "test/workers/audit-log/rewrite-fork.test.ts",
  "test/workers/kek/kek-copies.test.ts",
  "test/workers/kek/kms-failures.test.ts",
  "test/workers/kek/rotation.test.ts",
  "test/workers/leases/credential-copies.test.ts",
  "test/workers/operator/root-move-providers.test.ts",
  "test/workers/operator/root-rotation.test.ts",
  "test/workers/outbox/alarm.test.ts",
  "test/workers/outbox/crash.test.ts",
  "test/workers/outbox/fault-gate.test.ts",
  "test/workers/outbox/kek-rotation-start.test.ts",
  "test/workers/outbox/kek-sweep.test.ts",
  "test/workers/witness/vault-witness.test.ts",
];

/** What marks a file as aborting objects. */
export const ABORTS: RegExp = /\babortAllDurableObjects\s*\(|\babortAt\b|\bcrash\w*ForTest\s*\(/;
