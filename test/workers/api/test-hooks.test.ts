import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { VaultContext } from "../../../durable-objects/vault-context";
import { requireTestHooks, seedLeases } from "../../../durable-objects/test-hooks";
import { VaultError } from "../../../worker/contract/errors";
import worker from "../../../worker/index";
import { BASE } from "../helpers";

// Issue 15 §7: the test and benchmark surface sits behind one gate, TEST_HOOKS. ENVIRONMENT=test
// alone used to open the fixed clock and lease seeding; now nothing but TEST_HOOKS does.

async function fetchWith(bindings: Record<string, unknown>, path: string): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`${BASE}${path}`), { ...env, ...bindings } as Env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

describe("one gate for test and bench hooks", () => {
  it("the bench routes are 404 without TEST_HOOKS, even with ENVIRONMENT=test (control: 200 with it)", async () => {
    expect((await fetchWith({ TEST_HOOKS: "false" }, "/v1/bench/echo")).status).toBe(404);
    expect((await fetchWith({ TEST_HOOKS: "false", ENVIRONMENT: "development" }, "/v1/bench/echo")).status).toBe(404);
    expect((await fetchWith({ TEST_HOOKS: "true" }, "/v1/bench/echo")).status).toBe(200);
  });

  it("the pass-through baseline is 404 without TEST_HOOKS; with it a bad port is a 400 naming it (control)", async () => {
    expect((await fetchWith({ TEST_HOOKS: "false" }, "/v1/bench/passthrough/8080")).status).toBe(404);
    const bad = await fetchWith({ TEST_HOOKS: "true" }, "/v1/bench/passthrough/70000");
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain("port");
  });

  it("RATE_LIMITS=off outside production needs TEST_HOOKS (control: accepted with it)", async () => {
    for (const ENVIRONMENT of ["development", "test"]) {
      expect(
        (await fetchWith({ ENVIRONMENT, TEST_HOOKS: "false", RATE_LIMITS: "off" }, "/v1/health")).status,
        ENVIRONMENT,
      ).toBe(503);
      expect(
        (await fetchWith({ ENVIRONMENT, TEST_HOOKS: "true", RATE_LIMITS: "off" }, "/v1/health")).status,
        ENVIRONMENT,
      ).toBe(200);
    }
  });

  it("the object's hooks refuse without the gate and run with it", async () => {
    expect(() => requireTestHooks({ TEST_HOOKS: false }, "setClockForTest")).toThrow(
      "setClockForTest is refused unless TEST_HOOKS is on",
    );
    expect(() => requireTestHooks({ TEST_HOOKS: true }, "setClockForTest")).not.toThrow();
    // The gate is the first thing seedLeases checks: nothing else of the context is touched.
    const ungated = { config: { TEST_HOOKS: false, ENVIRONMENT: "test" } } as unknown as VaultContext;
    const refused = await seedLeases(ungated, {} as never, { credential: "x", count: 1, expiresAt: 0 }).catch(
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(VaultError);
    expect((refused as VaultError).code).toBe("forbidden");
  });
});
