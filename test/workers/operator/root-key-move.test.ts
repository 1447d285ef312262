import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createKmsProvider, KmsError } from "../../../worker/core/kms";
import { TEST_KMS } from "../../test-env";
import { callStats, emulatorProvider, freshTenant, kmsFailure, kmsSettings, setFault } from "../kms/helpers";

/**
 * Issue 13 §2, a move to another key id (AWS): with KMS_PREVIOUS_KEY_ID the vault's provider (a
 * MovingKmsProvider, worker/core/kms/moving.ts) still opens KEKs wrapped under the old key and
 * wraps them under the new one; once moved, a provider that knows only the new key opens them
 * and one that knows only the old key cannot. Moves within gcp/azure and across providers are
 * test/workers/operator/root-move-providers.test.ts.
 * The emulator holds both keys (dev/kms SECOND_KEY_ID); the whole fleet flow is in
 * test/node/cli/operator-root-move.test.ts.
 */

const OLD = TEST_KMS.keyId;
const NEW = TEST_KMS.secondKeyId;

describe("moving tenant KEKs to another AWS key id", () => {
  it("unwraps under the previous key during the move, rewraps to the new key, and the new key alone then suffices", async () => {
    const ctx = { tenantId: freshTenant(), kekVersion: 1 };
    const { plaintext, wrapped } = await emulatorProvider({ keyId: OLD }).generateKek(ctx);
    const newOnly = emulatorProvider({ keyId: NEW });
    // Fixture updated when the previous root became general (settings.previous, not previousKeyId).
    const moving = createKmsProvider(
      { ...kmsSettings({ keyId: NEW }), previous: kmsSettings({ keyId: OLD }) },
      env.KMS_EMULATOR!,
      env.KMS_EMULATOR!,
    );
    // Control: before the move, the new key alone cannot open it; with the previous key set, it can.
    await expect(newOnly.unwrapKek(wrapped, ctx)).rejects.toSatisfy(
      (e) => e instanceof KmsError && e.kind === "refused",
    );
    expect(await moving.unwrapKek(wrapped, ctx)).toEqual(plaintext);
    const moved = await moving.rewrapKek(wrapped, ctx);
    expect(await newOnly.unwrapKek(moved, ctx)).toEqual(plaintext);
    await expect(emulatorProvider({ keyId: OLD }).unwrapKek(moved, ctx)).rejects.toSatisfy(
      (e) => e instanceof KmsError && e.kind === "refused",
    );
    // The context still binds: the moved KEK does not open as another tenant's or version's.
    await expect(newOnly.unwrapKek(moved, { ...ctx, kekVersion: 2 })).rejects.toBeInstanceOf(KmsError);
    // Rewrapping an already moved KEK again stays on the new key.
    expect(await newOnly.unwrapKek(await moving.rewrapKek(moved, ctx), ctx)).toEqual(plaintext);
  });

  it("an outage of the new key is a 503, not a fallback to the previous key", async () => {
    const ctx = { tenantId: freshTenant(), kekVersion: 1 };
    const { plaintext, wrapped } = await emulatorProvider({ keyId: OLD }).generateKek(ctx);
    const moving = createKmsProvider(
      { ...kmsSettings({ keyId: NEW }), previous: kmsSettings({ keyId: OLD }) },
      env.KMS_EMULATOR!,
      env.KMS_EMULATOR!,
    );
    const before = (await callStats(ctx.tenantId)).Decrypt ?? 0;
    await setFault({ tenantId: ctx.tenantId, mode: "error", count: 10 });
    try {
      expect((await kmsFailure(moving.unwrapKek(wrapped, ctx))).kind).toBe("unavailable");
      // One call, to the new key; none to the old one.
      expect((await callStats(ctx.tenantId)).Decrypt).toBe(before + 1);
    } finally {
      await setFault({ tenantId: ctx.tenantId, mode: "none" });
    }
    // Control: with the new key answering again, the refusal sends the call to the previous key.
    expect(await moving.unwrapKek(wrapped, ctx)).toEqual(plaintext);
  });
});
