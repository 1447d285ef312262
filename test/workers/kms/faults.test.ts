import { describe, expect, it } from "vitest";
import { KmsError, type KmsErrorKind } from "../../../worker/core/kms";
import { callStats, emulatorProvider, freshTenant, kmsSettings, setFault, type FaultSpec } from "./helpers";

/** The kind of KmsError `promise` rejects with. */
async function failureKind(promise: Promise<unknown>): Promise<KmsErrorKind> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(KmsError);
  return (error as KmsError).kind;
}

// Each case uses its own tenant, and the emulator scopes faults by tenant: these tests can run
// beside any other file using the emulator without touching its requests.
const cases: { mode: FaultSpec["mode"]; kind: KmsErrorKind; delayMs?: number }[] = [
  { mode: "delay", kind: "timeout", delayMs: kmsSettings().timeoutMs + 1000 },
  { mode: "error", kind: "unavailable" },
  { mode: "throttle", kind: "throttled" },
  { mode: "garbage", kind: "malformed" },
];

describe("KMS faults map to KmsError kinds", () => {
  for (const { mode, kind, delayMs } of cases) {
    it(`${mode} → ${kind}, and works again once cleared`, async () => {
      const kms = emulatorProvider();
      const ctx = { tenantId: freshTenant(), kekVersion: 1 };
      const { plaintext, wrapped } = await kms.generateKek(ctx);

      await setFault({ tenantId: ctx.tenantId, mode, delayMs });
      expect(await failureKind(kms.unwrapKek(wrapped, ctx))).toBe(kind);
      expect(await failureKind(kms.generateKek(ctx))).toBe(kind);

      await setFault({ tenantId: ctx.tenantId, mode: "none" });
      expect(await kms.unwrapKek(wrapped, ctx)).toEqual(plaintext);
    });
  }

  it("a delay shorter than the timeout only slows the call down", async () => {
    const kms = emulatorProvider();
    const ctx = { tenantId: freshTenant(), kekVersion: 1 };
    await setFault({ tenantId: ctx.tenantId, mode: "delay", delayMs: 200 });
    const started = performance.now();
    await expect(kms.generateKek(ctx)).resolves.toHaveProperty("plaintext");
    expect(performance.now() - started).toBeGreaterThanOrEqual(150);
  });

  it("a fault with a count affects that many calls, then stops", async () => {
    const kms = emulatorProvider();
    const ctx = { tenantId: freshTenant(), kekVersion: 1 };
    await setFault({ tenantId: ctx.tenantId, mode: "error", count: 2 });
    expect(await failureKind(kms.generateKek(ctx))).toBe("unavailable");
    expect(await failureKind(kms.generateKek(ctx))).toBe("unavailable");
    await expect(kms.generateKek(ctx)).resolves.toHaveProperty("plaintext");
    // Faulted calls are counted too: the stats tell how often the vault asked.
    expect(await callStats(ctx.tenantId)).toEqual({ GenerateDataKey: 3 });
  });

  it("a fault for one tenant leaves other tenants alone", async () => {
    const kms = emulatorProvider();
    const faulted = { tenantId: freshTenant(), kekVersion: 1 };
    const healthy = { tenantId: freshTenant(), kekVersion: 1 };
    await setFault({ tenantId: faulted.tenantId, mode: "throttle" });
    await expect(kms.generateKek(healthy)).resolves.toHaveProperty("plaintext");
    expect(await failureKind(kms.generateKek(faulted))).toBe("throttled");
  });
});
