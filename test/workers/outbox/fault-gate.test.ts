import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { FaultsSchema } from "../../../durable-objects/outbox/faults";
import { TenantVault } from "../../../durable-objects/tenant-vault";
import { allowsTestHooks, loadConfig } from "../../../worker/contract/config";
import { vaultStub } from "../../../worker/routes/define";
import { productionEnv } from "../support/production-env";
import { arm, tenant } from "./outbox-helpers";

/** Issue 18 §2: the fault hook is a test-only setting, refused by a production configuration. */
describe("the fault-injection gate", () => {
  it("is open with TEST_HOOKS (the one test-hook gate) and closed in production and without it", () => {
    expect(allowsTestHooks(loadConfig(env))).toBe(true);
    expect(allowsTestHooks(loadConfig(productionEnv()))).toBe(false);
    expect(
      allowsTestHooks(
        loadConfig({
          ...(env as unknown as Record<string, unknown>),
          ENVIRONMENT: "development",
          TEST_HOOKS: "false",
        } as unknown as Env),
      ),
    ).toBe(false);
  });

  it("a tenant object under a production configuration refuses to arm faults; the test object accepts (control)", async () => {
    const { tenantId } = await tenant();
    await arm(tenantId, { d1Writes: "fail" });
    await arm(tenantId, null);
    await runInDurableObject(vaultStub(env, tenantId), async (_instance, state) => {
      const production = new TenantVault(state, productionEnv());
      await expect(production.setFaultsForTest({ d1Writes: "fail" })).rejects.toThrow(
        /refused unless TEST_HOOKS is on/,
      );
    });
  });

  it("accepts only the named faults", () => {
    expect(FaultsSchema.safeParse({ abortAt: "after-d1-write", d1Writes: "hang" }).success).toBe(true);
    expect(FaultsSchema.safeParse({ abortAt: "nowhere" }).success).toBe(false);
    expect(FaultsSchema.safeParse({ d1Reads: "explode" }).success).toBe(false);
  });
});
