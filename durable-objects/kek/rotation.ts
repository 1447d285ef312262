import { rewrapDek } from "../../worker/core/crypto";
import {
  destroyKeks,
  listKeks,
  replaceWrappedDek,
  unusedKekVersions,
  wrappedDeksToRewrap,
} from "../../worker/core/db/keks";
import type { KekRotateResult, KekStatus } from "../../worker/contract/schemas/admin";
import { deleteMeta, getMeta, setMeta } from "../storage/meta";
import { deleteKekCopies, putKekCopy } from "../storage/kek-copies";
import { deleteCredentialCopies } from "../storage/credential-copies";
import { record } from "../audit/record";
import { applyPending, commitD1Change, KEK_OUTBOX_KEY, settle } from "../outbox/outbox";
import { iso, isoOrNull, type Actor, type VaultContext } from "../vault-context";

/**
 * KEK rotation (DESIGN.md "KEK rotation"): a new KEK version becomes active at once; an
 * alarm-driven sweep then rewraps every wrapped DEK in batches. Value blobs are never touched.
 *
 * Crash safety: starting a rotation goes through the outbox (issue 18): the KMS generates the
 * KEK first (nothing is written if it fails), then the audit entry, the object's active version
 * and an outbox row inserting the D1 `tenant_keks` row are committed together, then D1 is
 * written. Nothing seals under the new version before its row is in D1 (`activeKekVersion`).
 * The sweep cursor lives in the object's storage and is saved after each batch; every rewrap is
 * a compare-and-set on `kek_version`, so a batch replayed after a crash changes nothing twice.
 */
export async function rotateKek(ctx: VaultContext, actor: Actor): Promise<KekRotateResult> {
  // One rotation at a time, after any earlier one is in D1: the next version is read from D1.
  return ctx.outbox.exclusive(KEK_OUTBOX_KEY, async () => {
    await applyPending(ctx, KEK_OUTBOX_KEY);
    const versions = await listKeks(ctx.db);
    const previous = versions.find((v) => v.state === "active")?.version ?? 0;
    // The highest version ever created, not the active one + 1: a destroyed version is never reused.
    const next = Math.max(0, ...versions.map((v) => v.version)) + 1;
    const { plaintext, wrapped } = await ctx.kms.generateKek({ tenantId: ctx.tenantId, kekVersion: next });
    const event = {
      type: "kek.rotation_started",
      target: { kind: "tenant_kek", id: ctx.tenantId, version: next },
      details: { previous_version: previous },
    } as const;
    const mutation = { kind: "kek_activate", version: next, wrappedKek: wrapped, createdAt: ctx.now() } as const;
    // A D1 failure after the intent is committed leaves the row pending (applied by the alarm or
    // the next seal); the rotation is started and recorded either way, as for credential writes.
    await commitD1Change(ctx, actor, [event], { credentialId: KEK_OUTBOX_KEY, name: KEK_OUTBOX_KEY, mutation }, () => {
      setMeta(ctx.sql, "kek_active_version", next);
      setMeta(ctx.sql, "kek_sweep", { cursor: null, rewrapped: 0 });
      putKekCopy(ctx.sql, next, wrapped, ctx.now());
    });
    await ctx.keks.put(next, plaintext);
    await ctx.scheduleAlarm(ctx.now() + ctx.config.KEK_SWEEP_PAUSE_MS);
    return { active_version: next, previous_version: previous };
  });
}

/**
 * The KEK version new DEKs are wrapped under, once its D1 row exists: a pending activation is
 * applied first, so no DEK is ever wrapped under a KEK that D1 does not hold (it could not be
 * unwrapped by anyone reading D1, and the sweep would not see it). Throws 503 `unavailable` if
 * the pending row cannot be applied now. Free when the outbox is empty.
 */
export async function activeKekVersion(ctx: VaultContext): Promise<number> {
  await settle(ctx, KEK_OUTBOX_KEY);
  const version = getMeta(ctx.sql, "kek_active_version");
  if (version === undefined) throw new Error("tenant has no active KEK");
  return version;
}

/** What one sweep step did. */
export type SweepResult = "idle" | "more" | "done";

/** Rewraps one batch of wrapped DEKs onto the active KEK; called from the alarm. */
export async function sweepStep(ctx: VaultContext): Promise<SweepResult> {
  const state = getMeta(ctx.sql, "kek_sweep");
  if (!state) return "idle";
  // Rewrapping onto a KEK whose D1 row is still pending would strand the DEKs: apply it first.
  const active = await activeKekVersion(ctx);
  const limit = ctx.config.KEK_SWEEP_BATCH;
  const batch = await wrappedDeksToRewrap(ctx.db, active, state.cursor, limit);
  const to = await ctx.keks.get(active);
  let rewrapped = 0;
  for (const row of batch) {
    const from = await ctx.keks.get(row.kekVersion);
    const aad = { tenantId: ctx.tenantId, credentialId: row.credentialId, version: row.version };
    const wrappedDek = await rewrapDek(row.wrappedDek, from, to, aad);
    const changed = await replaceWrappedDek(ctx.db, { ...row, fromKekVersion: row.kekVersion }, wrappedDek, active);
    if (changed) rewrapped++;
    // Test-only crash point (outbox/faults.ts): part of a batch rewrapped, the cursor not yet saved.
    if (rewrapped === 1) await ctx.faults.point("mid-kek-sweep");
  }
  // Cached wrapped DEKs of this batch are now on an old KEK version that will be destroyed.
  if (rewrapped > 0) ctx.credentials.invalidate();
  const last = batch[batch.length - 1];
  if (batch.length === limit && last) {
    setMeta(ctx.sql, "kek_sweep", {
      cursor: { credentialId: last.credentialId, version: last.version },
      rewrapped: state.rewrapped + rewrapped,
    });
    return "more";
  }
  // End of a pass. A version sealed under the old KEK by a write that raced the rotation can
  // land behind the cursor; if any row is still on an old version, make another pass.
  await finishDestroy(ctx);
  const doomed = await unusedKekVersions(ctx.db);
  if (doomed.length > 0) {
    // Intent first (issue 18): the entry and the pending list in one transaction, then D1. A crash
    // in between is finished by the next step (finishDestroy), never recorded twice or not at all.
    ctx.storage.transactionSync(() => {
      setMeta(ctx.sql, "kek_destroy_pending", doomed);
      deleteKekCopies(ctx.sql, doomed);
      // Stored credential copies a crash kept from the sweep's invalidations may name those versions.
      deleteCredentialCopies(ctx.sql);
      record(ctx, null, {
        type: "kek.destroyed",
        target: { kind: "tenant_kek", id: ctx.tenantId },
        details: { versions: doomed },
      });
    });
    await ctx.faults.point("after-outbox-commit");
    await finishDestroy(ctx);
  }
  const remaining = await wrappedDeksToRewrap(ctx.db, active, null, 1);
  if (remaining.length > 0) {
    setMeta(ctx.sql, "kek_sweep", { cursor: null, rewrapped: state.rewrapped + rewrapped });
    return "more";
  }
  ctx.storage.transactionSync(() => {
    deleteMeta(ctx.sql, "kek_sweep");
    record(ctx, null, {
      type: "kek.rotation_completed",
      target: { kind: "tenant_kek", id: ctx.tenantId, version: active },
      details: { rewrapped: state.rewrapped + rewrapped },
    });
  });
  return "done";
}

/** Applies an audited KEK destruction to D1 and forgets the versions; a no-op when none is pending. */
async function finishDestroy(ctx: VaultContext): Promise<void> {
  const pending = getMeta(ctx.sql, "kek_destroy_pending");
  if (!pending) return;
  await destroyKeks(ctx.db, pending, ctx.now());
  await ctx.faults.point("after-d1-write");
  for (const version of pending) ctx.keks.forget(version);
  // Unwrapped DEKs of those versions go with them (the sweep's invalidations normally got them first).
  ctx.credentials.invalidate();
  deleteMeta(ctx.sql, "kek_destroy_pending");
}

/** GET /v1/admin/kek */
export async function kekStatus(ctx: VaultContext): Promise<KekStatus> {
  await settle(ctx, KEK_OUTBOX_KEY);
  const versions = await listKeks(ctx.db);
  const sweep = getMeta(ctx.sql, "kek_sweep");
  const active = getMeta(ctx.sql, "kek_active_version") ?? 0;
  return {
    active_version: active,
    versions: versions.map((v) => ({
      version: v.version,
      state: v.state,
      created_at: iso(v.createdAt),
      destroyed_at: isoOrNull(v.destroyedAt),
      wrapped_deks: v.wrappedDeks,
    })),
    sweep: { running: sweep !== undefined, target_version: sweep ? active : null, rewrapped: sweep?.rewrapped ?? 0 },
  };
}
