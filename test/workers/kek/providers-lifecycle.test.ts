import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { buildContext } from "../../../durable-objects/build-context";
import { toWireError } from "../../../durable-objects/errors";
import { rotateKek, sweepStep } from "../../../durable-objects/kek/rotation";
import { createCredential, openVersion } from "../../../durable-objects/ops/credentials";
import { bootstrapTenant } from "../../../durable-objects/ops/tenant";
import type { Actor, VaultContext } from "../../../durable-objects/vault-context";
import { utf8Decode } from "../../../worker/core/crypto";
import { vaultStub } from "../../../worker/routes/define";
import { HARNESSES, PROVIDERS, fault, stats, type ProviderHarness, type Scoped } from "../kms/providers";
import { storedKeks, storedVersions } from "./inspect";

/**
 * The KEK lifecycle once per KMS provider: bootstrap, cold unwrap (single flight), rotation
 * sweep and KMS faults, run by the real operations inside a tenant's Durable Object with the
 * vault configured for that provider (KMS_PROVIDER and its settings merged over the test
 * bindings, exactly as buildContext reads them). The route-level suites (kms-failures,
 * rotation) cover the same paths through HTTP for the default provider.
 */

const actor: Actor = {
  tokenId: "tok_lifecycle",
  kind: "api",
  role: "admin",
  identity: "user:admin",
  expiresAt: null,
  requestId: "req-lifecycle",
};

/** Runs `fn` in the tenant's Durable Object with a fresh context (cold KEK cache) for provider `h`. */
function inVault<T>(
  h: ProviderHarness,
  t: Scoped,
  fn: (ctx: VaultContext) => Promise<T>,
  overrides: Record<string, unknown> = {},
): Promise<T> {
  return runInDurableObject(vaultStub(env, t.tenantId), (_instance, state) =>
    fn(
      buildContext({
        env: { ...env, ...h.bindings(t.scope), ...overrides } as Env,
        storage: state.storage,
        tenantId: t.tenantId,
        now: () => Date.now(),
        scheduleAlarm: async () => {},
      }),
    ),
  );
}

/** The wire error code an operation fails with (fails the test if it succeeds). */
async function failureCode(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeDefined();
  return toWireError(error, "req-lifecycle").code;
}

async function tenantRows(tenantId: string) {
  return env.DB.prepare(
    "SELECT (SELECT count(*) FROM tenants WHERE id = ?1) AS tenants, (SELECT count(*) FROM tenant_keks WHERE tenant_id = ?1) AS keks",
  )
    .bind(tenantId)
    .first();
}

async function bootstrapped(h: ProviderHarness): Promise<Scoped> {
  const t = h.fresh();
  await inVault(h, t, (ctx) =>
    bootstrapTenant(ctx, { tenant_name: `lifecycle-${h.name}`, admin_identity: "user:admin" }, "req-boot"),
  );
  return t;
}

describe.each(PROVIDERS)("KEK lifecycle with the %s provider", (name) => {
  const h = HARNESSES[name];

  it("bootstraps under the provider, and a cold burst of reads unwraps the KEK exactly once", async () => {
    const t = await bootstrapped(h);
    expect(await tenantRows(t.tenantId)).toEqual({ tenants: 1, keks: 1 });
    const created = await inVault(h, t, (ctx) =>
      createCredential(ctx, actor, { name: "db", value: "s3cret", description: "", tags: [] }),
    );
    const before = (await stats(h, t.scope))[h.ops.unwrap] ?? 0;
    // A new context: nothing cached, 20 concurrent reads of the same KEK version.
    const values = await inVault(h, t, (ctx) =>
      Promise.all(Array.from({ length: 20 }, () => openVersion(ctx, created.id, 1))),
    );
    expect(values.map(utf8Decode)).toEqual(Array(20).fill("s3cret"));
    expect((await stats(h, t.scope))[h.ops.unwrap]).toBe(before + 1);
  });

  it("rotates and sweeps every wrapped DEK onto the new KEK, destroying the old one", async () => {
    const t = await bootstrapped(h);
    const names = ["a", "b", "c", "d"];
    const ids = await inVault(h, t, async (ctx) => {
      const out: string[] = [];
      for (const n of names)
        out.push((await createCredential(ctx, actor, { name: n, value: `value-${n}`, description: "", tags: [] })).id);
      return out;
    });
    await inVault(h, t, async (ctx) => {
      expect(await rotateKek(ctx, actor)).toEqual({ active_version: 2, previous_version: 1 });
      for (let i = 0; i < 20 && (await sweepStep(ctx)) === "more"; i++);
    });
    expect((await storedVersions(t.tenantId)).map((r) => r.kek_version)).toEqual([2, 2, 2, 2]);
    expect(await storedKeks(t.tenantId)).toEqual([
      { version: 1, state: "destroyed", erased: 1 },
      { version: 2, state: "active", erased: 0 },
    ]);
    // Cold again: the values open through a KEK v2 unwrapped by the provider.
    const values = await inVault(h, t, (ctx) => Promise.all(ids.map((id) => openVersion(ctx, id, 1))));
    expect(values.map(utf8Decode)).toEqual(names.map((n) => `value-${n}`));
  });

  it("with a credential the provider refuses, bootstrap answers kms_unavailable and writes nothing", async () => {
    const t = h.fresh();
    const boot = (ctx: VaultContext) =>
      bootstrapTenant(ctx, { tenant_name: "t", admin_identity: "user:admin" }, "req-boot");
    expect(await failureCode(inVault(h, t, boot, await h.wrongCredentials()))).toBe("kms_unavailable");
    expect(await tenantRows(t.tenantId)).toEqual({ tenants: 0, keks: 0 });
    // Positive control: the right credential.
    await inVault(h, t, boot);
    expect(await tenantRows(t.tenantId)).toEqual({ tenants: 1, keks: 1 });
  });

  it.each(["error", "throttle", "garbage"] as const)(
    "a KMS %s answers kms_unavailable and writes nothing (bootstrap, rotation, cold unwrap)",
    async (mode) => {
      const t = h.fresh();
      await fault(h, t.scope, mode);
      const boot = (ctx: VaultContext) =>
        bootstrapTenant(ctx, { tenant_name: "t", admin_identity: "user:admin" }, "req-boot");
      expect(await failureCode(inVault(h, t, boot))).toBe("kms_unavailable");
      expect(await tenantRows(t.tenantId)).toEqual({ tenants: 0, keks: 0 });
      // Positive control: the same tenant bootstraps once the KMS is back.
      await fault(h, t.scope, "none");
      await inVault(h, t, boot);
      const created = await inVault(h, t, (ctx) =>
        createCredential(ctx, actor, { name: "db", value: "v", description: "", tags: [] }),
      );

      await fault(h, t.scope, mode);
      expect(await failureCode(inVault(h, t, (ctx) => rotateKek(ctx, actor)))).toBe("kms_unavailable");
      expect(await storedKeks(t.tenantId)).toEqual([{ version: 1, state: "active", erased: 0 }]);
      expect(await failureCode(inVault(h, t, (ctx) => openVersion(ctx, created.id, 1)))).toBe("kms_unavailable");
      await fault(h, t.scope, "none");
      expect(utf8Decode(await inVault(h, t, (ctx) => openVersion(ctx, created.id, 1)))).toBe("v");
      await inVault(h, t, (ctx) => rotateKek(ctx, actor));
      expect((await storedKeks(t.tenantId)).map((k) => k.state)).toEqual(["decrypt_only", "active"]);
    },
  );
});
