import { z } from "zod";
import { base64ToBytes, bytesToBase64 } from "../../worker/core/crypto/encoding";
import * as store from "../../worker/core/db/credentials";
import { applyActivateKek } from "../../worker/core/db/keks";
import type { TenantDb } from "../../worker/core/db/tenant-db";

/**
 * The D1 mutations the outbox carries, in idempotent form (issue 18 §1): each can be applied
 * any number of times and ends in the same D1 state, and each carries the compare-and-set that
 * tells a replay of itself from a change made behind the object's back. Values stay sealed:
 * the outbox holds ciphertext and wrapped DEKs, exactly what D1 will hold.
 */

const int = z.number().int();
const Base64 = z.string().transform((s) => base64ToBytes(s));
const VersionSchema = z.strictObject({
  version: int,
  valueBlob: Base64,
  wrappedDek: Base64,
  kekVersion: int,
  createdAt: int,
  createdBy: z.string(),
});
/** A `credentials` row without its tenant (the object's stored copy adds it: storage/credential-copies.ts). */
export const RowSchema = z.strictObject({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  tags: z.string(),
  defaultTtl: int,
  maxTtl: int,
  currentVersion: int,
  createdAt: int,
  updatedAt: int,
  createdBy: z.string(),
  acl: z.string(),
});
const PatchSchema = z.strictObject({
  description: z.string().optional(),
  tags: z.string().optional(),
  defaultTtl: int.optional(),
  maxTtl: int.optional(),
  acl: z.string().optional(),
  updatedAt: int,
});

/** A mutation as read back from the outbox table. */
export const MutationSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("insert"), row: RowSchema, first: VersionSchema }),
  z.strictObject({ kind: z.literal("update"), expectedUpdatedAt: int, patch: PatchSchema }),
  z.strictObject({ kind: z.literal("rotate"), fromVersion: int, next: VersionSchema }),
  z.strictObject({ kind: z.literal("delete") }),
  z.strictObject({ kind: z.literal("purge"), through: int }),
  // Starting a KEK rotation (kek/rotation.ts): insert-if-absent by (tenant, version), older active demoted.
  z.strictObject({ kind: z.literal("kek_activate"), version: int, wrappedKek: Base64, createdAt: int }),
]);
/** One idempotent D1 mutation of one credential (or, `kek_activate`, of the tenant's KEK rows). */
export type Mutation = z.output<typeof MutationSchema>;

/** The stored (JSON) form: byte fields as base64. */
export function encodeMutation(m: Mutation): string {
  return JSON.stringify(m, (_key, value: unknown) => (value instanceof Uint8Array ? bytesToBase64(value) : value));
}

/** What applying found: done, or a conflict with what D1 held and how it was resolved. */
export type Applied =
  | { conflict: null }
  | { conflict: { d1: store.D1Seen | "name_taken"; resolution: "reapplied" | "dropped" } };

/**
 * Applies one mutation of `credentialId` to D1. The rule for a compare-and-set that matches
 * neither the prior state nor the target (D1 was changed behind the object's back): the object's
 * state wins and is written again ("reapplied"); when the row is gone, or a create's name is
 * taken by a row the object never wrote, the mutation cannot apply and is "dropped". Either way
 * the caller records an `integrity.violation` with what D1 held.
 */
export async function applyMutation(db: TenantDb, credentialId: string, m: Mutation): Promise<Applied> {
  switch (m.kind) {
    case "insert":
      return (await store.applyInsert(db, m.row, m.first))
        ? { conflict: null }
        : { conflict: { d1: "name_taken", resolution: "dropped" } };
    case "update": {
      const done = await store.applyUpdate(db, credentialId, m.expectedUpdatedAt, m.patch);
      if (done.applied) return { conflict: null };
      if (done.d1 === null) return { conflict: { d1: null, resolution: "dropped" } };
      await store.updateCredential(db, credentialId, m.patch);
      return { conflict: { d1: done.d1, resolution: "reapplied" } };
    }
    case "rotate": {
      const done = await store.applyRotate(db, credentialId, m.fromVersion, m.next);
      if (done.applied) return { conflict: null };
      if (done.d1 === null) return { conflict: { d1: null, resolution: "dropped" } };
      await store.forceVersion(db, credentialId, m.next.version, m.next.createdAt);
      return { conflict: { d1: done.d1, resolution: "reapplied" } };
    }
    case "delete":
      await store.deleteCredential(db, credentialId);
      return { conflict: null };
    case "purge":
      await store.deleteVersionsThrough(db, credentialId, m.through);
      return { conflict: null };
    case "kek_activate":
      await applyActivateKek(db, m.version, m.wrappedKek, m.createdAt);
      return { conflict: null };
  }
}
