import { describe, expect, it } from "vitest";
import { makeGcpTestSettings } from "../../kms-providers";
import { TEST_KMS } from "../../test-env";
import { rootMoveFixture } from "./root-move";

/**
 * Root-key move to another provider, end to end (issue 13 §2): tenants made under the AWS root;
 * the vault restarted on the same state with the gcp provider as KMS_* and the AWS root as
 * KMS_PREVIOUS_*; `ghostvault operator rotate-root --all --wait` moves every KEK; restarted on
 * gcp alone, every tenant still leases its value. Control: gcp alone, before the move, cannot
 * open the tenants' KEKs (503). Moves within gcp/azure are test/workers/operator/root-move-providers.test.ts.
 */

const gcp = makeGcpTestSettings();
const gcpRoot = {
  KMS_PROVIDER: "gcp",
  KMS_GCP_KEY_NAME: gcp.keyName,
  KMS_GCP_ENDPOINT: gcp.endpoint,
  KMS_GCP_SERVICE_ACCOUNT: gcp.serviceAccountJson,
};
const { tenants, start, leaseValue, rotateRoot } = rootMoveFixture("root-move-cross", { gcpEmulator: gcp.emulator });

describe("operator rotate-root to another provider (aws → gcp)", () => {
  it("moves every tenant's KEKs to the gcp root; afterwards gcp alone suffices", { timeout: 300_000 }, async () => {
    // Control: the new root alone cannot open KEKs still wrapped under the AWS root.
    const newOnly = await start(gcpRoot);
    expect((await leaseValue(newOnly, tenants[0]!.token)).status).toBe(503);

    const moving = await start({ ...gcpRoot, KMS_PREVIOUS_PROVIDER: "aws", KMS_PREVIOUS_KEY_ID: TEST_KMS.keyId });
    for (const t of tenants) expect(await leaseValue(moving, t.token)).toEqual({ status: 201, value: t.value });
    const job = await rotateRoot(moving);
    expect(job.progress.failed).toBe(0);
    // Every registered tenant: the two above and those each start bootstrapped.
    expect(job.progress.done).toBeGreaterThanOrEqual(tenants.length);
    for (const t of job.tenants)
      expect(t.result).toMatchObject({ root_key: `gcp:${gcp.keyName}`, previous_root_key: `aws:${TEST_KMS.keyId}` });

    const after = await start(gcpRoot);
    for (const t of tenants) expect(await leaseValue(after, t.token)).toEqual({ status: 201, value: t.value });
  });
});
