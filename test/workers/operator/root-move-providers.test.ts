import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { buildContext } from "../../../durable-objects/build-context";
import { toWireError } from "../../../durable-objects/errors";
import { rotateKek } from "../../../durable-objects/kek/rotation";
import { createCredential, openVersion } from "../../../durable-objects/ops/credentials";
import { runOperatorAction } from "../../../durable-objects/ops/operator";
import { bootstrapTenant } from "../../../durable-objects/ops/tenant";
import { FaultHook } from "../../../durable-objects/outbox/faults";
import type { Actor, VaultContext } from "../../../durable-objects/vault-context";
import { utf8Decode } from "../../../worker/core/crypto";
import { getKek } from "../../../worker/core/db/keks";
import { vaultStub } from "../../../worker/routes/define";
import { TEST_KMS } from "../../test-env";
import { auditRows } from "../audit-log/helpers";
import { hex, storedVersions } from "../kek/inspect";
import { azureTest, fault, gcpTest, HARNESSES, stats, type ProviderName } from "../kms/providers";
import { freshTenant } from "../kms/helpers";

/**
 * Issue 13 §2, a move of the root key to another key name (gcp, azure) or to another provider:
 * the vault configured with the new root as KMS_* and the old one as KMS_PREVIOUS_* opens KEKs
 * under either, the tenant side of `rotate-root` (runOperatorAction "rewrap_root", what the
 * OperatorPlane's fleet job calls per tenant) moves every live KEK, and afterwards the new root
 * alone suffices. Run inside each tenant's Durable Object with the vault's real config parsing
 * (buildContext over the bindings), as test/workers/kek/providers-lifecycle.test.ts does; the
 * fleet job itself (batches, crash of the OperatorPlane) is test/workers/operator/root-rotation.test.ts.
 */

type Bindings = Record<string, unknown>;

/** Bindings of one root key: the provider's first or second key, in a test scope of its own. */
function root(provider: ProviderName, key: "first" | "second", suffix: string): Bindings {
  switch (provider) {
    case "aws":
      return { KMS_PROVIDER: "aws", KMS_KEY_ID: key === "first" ? TEST_KMS.keyId : TEST_KMS.secondKeyId };
    case "gcp":
      return {
        ...HARNESSES.gcp.bindings(""),
        KMS_GCP_KEY_NAME: gcpTest()[key === "first" ? "keyName" : "secondKeyName"],
      };
    case "azure": {
      const t = azureTest();
      const name = key === "first" ? t.keyName : t.secondKeyName;
      return { ...HARNESSES.azure.bindings(""), KMS_AZURE_KEY_ID: `${t.vault}/keys/${name}--${suffix}` };
    }
  }
}

/** The same root as the previous one of a move: each KMS_<X> as KMS_PREVIOUS_<X>. */
function asPrevious(bindings: Bindings): Bindings {
  return Object.fromEntries(Object.entries(bindings).map(([k, v]) => [k.replace(/^KMS_/, "KMS_PREVIOUS_"), v]));
}

/** Runs `fn` in the tenant's object with a fresh context (cold KEK cache) under `bindings`. */
function inVault<T>(
  tenantId: string,
  bindings: Bindings,
  fn: (ctx: VaultContext) => Promise<T>,
  faults?: FaultHook,
): Promise<T> {
  return runInDurableObject(vaultStub(env, tenantId), (_instance, state) =>
    fn(
      buildContext({
        env: { ...env, ...bindings } as Env,
        storage: state.storage,
        tenantId,
        now: () => Date.now(),
        scheduleAlarm: async () => {},
        ...(faults ? { faults } : {}),
      }),
    ),
  );
}

async function failureCode(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeDefined();
  return toWireError(error, "req-move").code;
}

type KekRow = { version: number; state: string; root_key: string | null; root_job: string | null };
async function kekRows(tenantId: string): Promise<KekRow[]> {
  const { results } = await env.DB.prepare(
    "SELECT version, state, root_key, root_job FROM tenant_keks WHERE tenant_id = ? ORDER BY version",
  )
    .bind(tenantId)
    .all<KekRow>();
  return results;
}

const admin: Actor = {
  tokenId: "tok_move",
  kind: "api",
  role: "admin",
  identity: "user:admin",
  expiresAt: null,
  requestId: "req-move",
};
const operator = (job: string): Actor => ({
  tokenId: "otk_move",
  kind: "operator",
  role: "admin",
  identity: "operator:root",
  expiresAt: null,
  requestId: job,
});

const label = (provider: ProviderName, b: Bindings) =>
  `${provider}:${String(b.KMS_KEY_ID ?? b.KMS_GCP_KEY_NAME ?? b.KMS_AZURE_KEY_ID)}`;

const MOVES: [ProviderName, ProviderName][] = [
  ["gcp", "gcp"],
  ["azure", "azure"],
  ["aws", "gcp"],
  ["gcp", "azure"],
];

describe.each(MOVES)("moving the root key from %s to %s", (fromProvider, toProvider) => {
  it("the new root alone cannot open old KEKs; during the move they open and rewrap; a crash mid-tenant resumes; then the new root alone suffices", async () => {
    const suffix = crypto.randomUUID();
    const from = root(fromProvider, "first", suffix);
    const to = root(toProvider, "second", suffix);
    const moving = { ...to, ...asPrevious(from) };
    const job = `job_${crypto.randomUUID()}`;

    // Two tenants under the old root; the first mid-KEK-rotation, so it has two live KEK versions.
    const tenants = [freshTenant(), freshTenant()];
    const creds = new Map<string, { id: string; value: string }[]>();
    for (const tenantId of tenants) {
      await inVault(tenantId, from, (ctx) =>
        bootstrapTenant(ctx, { tenant_name: "move", admin_identity: "user:admin" }, "req-boot"),
      );
      const made = [];
      for (const name of ["a", "b"]) {
        const value = `${name}-${crypto.randomUUID()}`;
        const c = await inVault(tenantId, from, (ctx) =>
          createCredential(ctx, admin, { name, value, description: "", tags: [] }),
        );
        made.push({ id: c.id, value });
        if (tenantId === tenants[0] && name === "a") await inVault(tenantId, from, (ctx) => rotateKek(ctx, admin));
      }
      creds.set(tenantId, made);
    }
    expect((await kekRows(tenants[0]!)).map((k) => k.state)).toEqual(["decrypt_only", "active"]);
    const before = new Map<string, string[][]>();
    for (const t of tenants)
      before.set(
        t,
        (await storedVersions(t)).map((v) => [
          v.credential_id,
          String(v.kek_version),
          hex(v.value_blob),
          hex(v.wrapped_dek),
        ]),
      );
    const open = (tenantId: string, bindings: Bindings) =>
      inVault(tenantId, bindings, async (ctx) =>
        (await Promise.all(creds.get(tenantId)!.map((c) => openVersion(ctx, c.id, 1)))).map(utf8Decode),
      );
    const values = (tenantId: string) => creds.get(tenantId)!.map((c) => c.value);

    // Control: the new root alone cannot open the old KEKs (503), and with the previous root set it can.
    for (const t of tenants) expect(await failureCode(open(t, to))).toBe("kms_unavailable");
    for (const t of tenants) expect(await open(t, moving)).toEqual(values(t));

    // A KMS outage under the new root is an outage, not a reason to ask the old root. (Only where
    // the new root must ask its KMS about an old KEK: an Azure root refuses a foreign blob, or
    // another key's version, without a call that could fail.)
    if (toProvider === "gcp") {
      const h = HARNESSES[fromProvider];
      const asked = async () => (await stats(h, tenants[1]!))[h.ops.unwrap] ?? 0;
      const askedBefore = await asked();
      await fault(HARNESSES.gcp, tenants[1]!, "error", { count: 50 });
      try {
        expect(await failureCode(open(tenants[1]!, moving))).toBe("kms_unavailable");
        const rewrapOne = (ctx: VaultContext) =>
          getKek(ctx.db, 1).then((k) => ctx.kms.rewrapKek(k!.wrappedKek!, { tenantId: ctx.tenantId, kekVersion: 1 }));
        expect(await failureCode(inVault(tenants[1]!, moving, rewrapOne))).toBe("kms_unavailable");
      } finally {
        await fault(HARNESSES.gcp, tenants[1]!, "none");
      }
      // The two failed calls to the new root, and none to the old one (gcp→gcp: one emulator counts both roots).
      expect((await asked()) - askedBefore).toBe(fromProvider === toProvider ? 2 : 0);
    }

    // The job; the first tenant's object dies after its first KEK moved, before the second.
    const crash = new FaultHook(
      (reason) => {
        throw new Error(reason);
      },
      async () => {},
    );
    crash.arm({ abortAt: "mid-root-rewrap" });
    const rewrap = (ctx: VaultContext) => runOperatorAction(ctx, operator(job), { action: "rewrap_root" });
    await expect(inVault(tenants[0]!, moving, rewrap, crash)).rejects.toThrow(/mid-root-rewrap/);
    expect((await kekRows(tenants[0]!)).map((k) => k.root_job)).toEqual([job, null]);
    // Resumed: the whole job again, as the OperatorPlane re-runs a tenant whose result it did not save.
    const results = [];
    for (const t of tenants) results.push((await inVault(t, moving, rewrap)) as Record<string, unknown>);
    const fromLabel = label(fromProvider, from);
    const toLabel = label(toProvider, to);
    expect(results).toEqual([
      expect.objectContaining({ root_key: toLabel, previous_root_key: fromLabel, rewrapped: [2], already: [1] }),
      expect.objectContaining({ root_key: toLabel, previous_root_key: fromLabel, rewrapped: [1], already: [] }),
    ]);

    for (const t of tenants) {
      // The new root alone opens every value; the old root alone no longer opens the KEKs.
      expect(await open(t, to)).toEqual(values(t));
      expect(await failureCode(open(t, from))).toBe("kms_unavailable");
      expect((await kekRows(t)).every((k) => k.root_key === toLabel && k.root_job === job)).toBe(true);
      // Not one byte of a value blob or wrapped DEK changed.
      expect(
        (await storedVersions(t)).map((v) => [
          v.credential_id,
          String(v.kek_version),
          hex(v.value_blob),
          hex(v.wrapped_dek),
        ]),
      ).toEqual(before.get(t));
      // The chain records the move by root names, never key material, and still verifies.
      const moved = (await auditRows(t))
        .map(
          (r) => JSON.parse(r.entry) as { type: string; actor: { identity: string }; details: Record<string, unknown> },
        )
        .filter((e) => e.type === "kek.root_rewrapped");
      expect(moved.at(-1)).toMatchObject({
        actor: { identity: "operator:root" },
        details: { root_key: toLabel, previous_root_key: fromLabel, job_id: job },
      });
      expect(
        await inVault(t, to, (ctx) => runOperatorAction(ctx, operator(`${job}-verify`), { action: "verify_audit" })),
      ).toMatchObject({ ok: true });
    }
  });
});
