import { describe, expect, it } from "vitest";
import { TEST_KMS } from "../../test-env";
import { rootMoveFixture } from "./root-move";

/**
 * Root-key rotation to another key id, end to end (issue 13 §2): tenants made under one AWS key;
 * the vault restarted on the same state with KMS_KEY_ID = a second key and KMS_PREVIOUS_KEY_ID =
 * the first; `ghostvault operator rotate-root --all` rewraps every KEK under the new key; restarted
 * with the second key only, every tenant still leases. Control: the second key alone, before the
 * rotation, cannot open the tenants' KEKs.
 */

const { tenants, start, leaseValue, rotateRoot } = rootMoveFixture("root-move");

describe("operator rotate-root to another key id", () => {
  it("moves every tenant's KEKs to the new key; afterwards the new key alone suffices", {
    timeout: 240_000,
  }, async () => {
    // Control: the new key alone cannot open KEKs still wrapped under the old one.
    const newOnly = await start({ KMS_KEY_ID: TEST_KMS.secondKeyId });
    expect((await leaseValue(newOnly, tenants[0]!.token)).status).toBe(503);

    const moving = await start({ KMS_KEY_ID: TEST_KMS.secondKeyId, KMS_PREVIOUS_KEY_ID: TEST_KMS.keyId });
    for (const t of tenants) expect(await leaseValue(moving, t.token)).toEqual({ status: 201, value: t.value });
    const job = await rotateRoot(moving);
    expect(job.progress.failed).toBe(0);
    expect(job.tenants.every((t) => t.result.root_key === `aws:${TEST_KMS.secondKeyId}`)).toBe(true);

    const after = await start({ KMS_KEY_ID: TEST_KMS.secondKeyId });
    for (const t of tenants) expect(await leaseValue(after, t.token)).toEqual({ status: 201, value: t.value });
  });
});
