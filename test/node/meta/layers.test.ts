import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain ES module script without types (scripts/layers.mjs)
import { checkLayers, layerOf, violation } from "../../../scripts/layers.mjs";

describe("imports go one way (docs/architecture.md)", () => {
  it("the rule refuses upward and sideways imports and allows the ones the design names", () => {
    expect(layerOf("worker/routes/leases.ts")).toBe("front");
    expect(layerOf("worker/core/audit/codec.ts")).toBe("core");
    expect(layerOf("test/workers/helpers.ts")).toBeNull();
    // Refused: core reaching up, the object reaching the front door, the front door into object internals.
    expect(violation("worker/core/auth/glob.ts", "worker/contract/errors.ts", false)).toBe(
      "core may not import contract",
    );
    expect(violation("durable-objects/ops/leases.ts", "worker/routes/define.ts", false)).toBe(
      "object may not import front",
    );
    expect(violation("worker/routes/audit.ts", "durable-objects/audit/checkpoints.ts", false)).toBe(
      "front may not import object",
    );
    expect(violation("worker/routes/define.ts", "durable-objects/tenant-vault.ts", false)).toBe(
      "front may not import object",
    );
    expect(violation("sdk/audit.ts", "durable-objects/audit/query.ts", true)).toBe("client may not import object");
    // Allowed: downward imports, and the stub's type or the entry point's export of the class.
    expect(violation("worker/routes/define.ts", "durable-objects/tenant-vault.ts", true)).toBeNull();
    expect(violation("worker/index.ts", "durable-objects/tenant-vault.ts", false)).toBeNull();
    expect(violation("durable-objects/ops/leases.ts", "worker/contract/errors.ts", false)).toBeNull();
    expect(violation("worker/contract/schemas/acl.ts", "worker/core/auth/glob.ts", false)).toBeNull();
    expect(violation("sdk/audit-verify.ts", "worker/core/audit/codec.ts", false)).toBeNull();
  });

  it("no file in worker/, durable-objects/ or the clients breaks it", () => {
    expect(checkLayers()).toEqual([]);
  });
});
