import { openCredentialValue, sealCredentialValue } from "../../worker/core/crypto";
import * as store from "../../worker/core/db/credentials";
import { VaultError } from "../../worker/contract/errors";
import { newId } from "../../worker/core/ids";
import type {
  CreateCredentialInput,
  Credential,
  CredentialPage,
  CredentialVersion,
  ListCredentialsQuery,
  UpdateCredentialInput,
} from "../../worker/contract/schemas/credentials";
import { credentialTarget } from "../audit/record";
import { applyPending, commitD1Change, settle } from "../outbox/outbox";
import { activeKekVersion } from "../kek/rotation";
import {
  DEFAULT_KEEP_VERSIONS,
  getHead,
  keepVersionsOf,
  markHeadDeleted,
  setHeadKeepVersions,
  setHeadVersion,
} from "../storage/credential-heads";
import { verifyCurrentVersion } from "./credential-integrity";
import { DEFAULT_ACL } from "../../worker/contract/schemas/acl";
import { iso, type Actor, type VaultContext } from "../vault-context";

const DEFAULT_TTL_SECONDS = 3600;

/** A stored credential as the API shows it: metadata, never the value. */
export function credentialView(row: store.CredentialRow, keepVersions: number): Credential {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    tags: JSON.parse(row.tags) as string[],
    default_ttl: row.defaultTtl,
    max_ttl: row.maxTtl,
    current_version: row.currentVersion,
    keep_versions: keepVersions,
    created_at: iso(row.createdAt),
    updated_at: iso(row.updatedAt),
    created_by: row.createdBy,
  };
}

/** A credential as the API shows it, with its retention setting from the object's head. */
export function viewOf(ctx: VaultContext, row: store.CredentialRow): Credential {
  return credentialView(row, keepVersionsOf(getHead(ctx.sql, row.id)));
}

/** GET /v1/credentials/{ref}: the version shown is one the object agrees with. */
export async function getCredential(ctx: VaultContext, actor: Actor, ref: string): Promise<Credential> {
  const row = await requireCredential(ctx, ref);
  await verifyCurrentVersion(ctx, actor, row, "credentials.get");
  return viewOf(ctx, row);
}

/** Finds a credential by id or name, or answers 404 (the same for "another tenant's" and "none"). */
export async function requireCredential(ctx: VaultContext, ref: string): Promise<store.CredentialRow> {
  // Pending outbox rows of this credential first: a read never shows a state the audit log contradicts.
  await settle(ctx, ref);
  return foundOr404(await store.findCredential(ctx.db, ref));
}

/**
 * Runs a write of one credential alone (ctx.outbox.exclusive), on its row as D1 holds it once
 * every earlier change is applied: the outbox compare-and-set then expects exactly that row.
 */
export async function writingCredential<T>(
  ctx: VaultContext,
  ref: string,
  write: (row: store.CredentialRow) => Promise<T>,
): Promise<T> {
  const { id } = await requireCredential(ctx, ref);
  return ctx.outbox.exclusive(id, async () => {
    await applyPending(ctx, id);
    return write(foundOr404(await store.findCredential(ctx.db, id)));
  });
}

function foundOr404(row: store.CredentialRow | undefined): store.CredentialRow {
  if (!row) throw new VaultError("not_found", "no such credential");
  return row;
}

/** Resolves and checks lease TTL bounds: default ≤ max ≤ tenant maximum. */
function ttlBounds(
  ctx: VaultContext,
  requested: { default_ttl?: number; max_ttl?: number },
  current?: store.CredentialRow,
) {
  const tenantMax = ctx.config.TENANT_MAX_LEASE_TTL_SECONDS;
  const maxTtl = requested.max_ttl ?? current?.maxTtl ?? tenantMax;
  const defaultTtl = requested.default_ttl ?? current?.defaultTtl ?? Math.min(DEFAULT_TTL_SECONDS, maxTtl);
  if (maxTtl > tenantMax)
    throw new VaultError("validation_failed", `max_ttl must be at most the tenant maximum of ${tenantMax} seconds`);
  if (defaultTtl > maxTtl)
    throw new VaultError("validation_failed", `default_ttl (${defaultTtl}s) must not exceed max_ttl (${maxTtl}s)`);
  return { defaultTtl, maxTtl };
}

/** Encrypts a value for one credential version under the tenant's active KEK. */
async function sealVersion(
  ctx: VaultContext,
  credentialId: string,
  version: number,
  value: string,
  actor: Actor,
): Promise<store.SealedVersion> {
  const kekVersion = await activeKekVersion(ctx);
  const kek = await ctx.keks.get(kekVersion);
  const sealed = await sealCredentialValue(new TextEncoder().encode(value), kek, {
    tenantId: ctx.tenantId,
    credentialId,
    version,
  });
  return { version, ...sealed, kekVersion, createdAt: ctx.now(), createdBy: actor.identity };
}

/** POST /v1/credentials */
export async function createCredential(
  ctx: VaultContext,
  actor: Actor,
  input: CreateCredentialInput,
): Promise<Credential> {
  const { defaultTtl, maxTtl } = ttlBounds(ctx, input);
  // One create per name at a time: the name check below then holds until the row is in D1.
  return ctx.outbox.exclusive(`name:${input.name}`, async () => {
    await settle(ctx, input.name);
    if (await store.findCredential(ctx.db, input.name))
      throw new VaultError("conflict", `a credential named "${input.name}" already exists`);
    const id = newId("cred");
    return ctx.outbox.exclusive(id, () => create(ctx, actor, input, id, defaultTtl, maxTtl));
  });
}

async function create(
  ctx: VaultContext,
  actor: Actor,
  input: CreateCredentialInput,
  id: string,
  defaultTtl: number,
  maxTtl: number,
): Promise<Credential> {
  const first = await sealVersion(ctx, id, 1, input.value, actor);
  const keepVersions = input.keep_versions ?? DEFAULT_KEEP_VERSIONS;
  const row = {
    id,
    name: input.name,
    description: input.description,
    tags: JSON.stringify(input.tags),
    defaultTtl,
    maxTtl,
    currentVersion: 1,
    createdAt: first.createdAt,
    updatedAt: first.createdAt,
    createdBy: actor.identity,
    acl: JSON.stringify(DEFAULT_ACL),
  };
  await commitD1Change(
    ctx,
    actor,
    [
      {
        type: "credential.created",
        target: credentialTarget(id, 1),
        details: {
          name: input.name,
          tags: input.tags,
          default_ttl: defaultTtl,
          max_ttl: maxTtl,
          keep_versions: keepVersions,
          kek_version: first.kekVersion,
        },
      },
    ],
    { credentialId: id, name: input.name, mutation: { kind: "insert", row, first } },
    () => setHeadVersion(ctx.sql, id, 1, first.createdAt, keepVersions),
  );
  return credentialView({ ...row, tenantId: ctx.tenantId }, keepVersions);
}

/** GET /v1/credentials */
export async function listCredentialPage(ctx: VaultContext, q: ListCredentialsQuery): Promise<CredentialPage> {
  await settle(ctx);
  const rows = await store.listCredentials(ctx.db, q);
  const page = rows.slice(0, q.limit);
  return {
    items: page.map((row) => viewOf(ctx, row)),
    next_cursor: rows.length > q.limit ? page[page.length - 1]!.name : null,
  };
}

/** PATCH /v1/credentials/{ref} */
export async function updateCredential(
  ctx: VaultContext,
  actor: Actor,
  ref: string,
  input: UpdateCredentialInput,
): Promise<Credential> {
  return writingCredential(ctx, ref, (row) => update(ctx, actor, row, input));
}

async function update(
  ctx: VaultContext,
  actor: Actor,
  row: store.CredentialRow,
  input: UpdateCredentialInput,
): Promise<Credential> {
  const { defaultTtl, maxTtl } = ttlBounds(ctx, input, row);
  await verifyCurrentVersion(ctx, actor, row, "credentials.update");
  const keepBefore = keepVersionsOf(getHead(ctx.sql, row.id));
  const keepVersions = input.keep_versions ?? keepBefore;
  const patch = {
    description: input.description ?? row.description,
    tags: input.tags === undefined ? row.tags : JSON.stringify(input.tags),
    defaultTtl,
    maxTtl,
    updatedAt: ctx.now(),
  };
  const before = {
    description: row.description,
    tags: JSON.parse(row.tags) as string[],
    default_ttl: row.defaultTtl,
    max_ttl: row.maxTtl,
    keep_versions: keepBefore,
  };
  const after = {
    description: patch.description,
    tags: JSON.parse(patch.tags) as string[],
    default_ttl: defaultTtl,
    max_ttl: maxTtl,
    keep_versions: keepVersions,
  };
  await commitD1Change(
    ctx,
    actor,
    [{ type: "credential.updated", target: credentialTarget(row.id), details: { name: row.name, before, after } }],
    { credentialId: row.id, name: row.name, mutation: { kind: "update", expectedUpdatedAt: row.updatedAt, patch } },
    // The head exists: verifyCurrentVersion above adopted it if it did not.
    () => setHeadKeepVersions(ctx.sql, row.id, keepVersions, patch.updatedAt),
  );
  // A smaller retention applies at once, not only at the next rotation.
  if (keepVersions < keepBefore) await retain(ctx, actor, row, row.currentVersion, keepVersions);
  return credentialView({ ...row, ...patch }, keepVersions);
}

/** POST /v1/credentials/{ref}/rotate: a new version with a new DEK; old versions stay readable by leases pinned to them. */
export async function rotateCredentialValue(
  ctx: VaultContext,
  actor: Actor,
  ref: string,
  value: string,
): Promise<Credential> {
  return writingCredential(ctx, ref, async (row) => {
    // Rotating from a rolled-back version would launder the rollback into a new head.
    await verifyCurrentVersion(ctx, actor, row, "credentials.rotate");
    return rotate(ctx, actor, row, value);
  });
}

async function rotate(ctx: VaultContext, actor: Actor, row: store.CredentialRow, value: string): Promise<Credential> {
  const next = await sealVersion(ctx, row.id, row.currentVersion + 1, value, actor);
  await commitD1Change(
    ctx,
    actor,
    [
      {
        type: "credential.rotated",
        target: credentialTarget(row.id, next.version),
        details: { name: row.name, previous_version: row.currentVersion, kek_version: next.kekVersion },
      },
    ],
    { credentialId: row.id, name: row.name, mutation: { kind: "rotate", fromVersion: row.currentVersion, next } },
    () => setHeadVersion(ctx.sql, row.id, next.version, next.createdAt),
  );
  const keepVersions = keepVersionsOf(getHead(ctx.sql, row.id));
  await retain(ctx, actor, row, next.version, keepVersions);
  return credentialView({ ...row, currentVersion: next.version, updatedAt: next.createdAt }, keepVersions);
}

/** GET /v1/credentials/{ref}/versions */
export async function listCredentialVersions(ctx: VaultContext, ref: string): Promise<{ items: CredentialVersion[] }> {
  const row = await requireCredential(ctx, ref);
  const versions = await store.listVersions(ctx.db, row.id);
  return {
    items: versions.map((v) => ({
      version: v.version,
      created_at: iso(v.createdAt),
      created_by: v.createdBy,
      kek_version: v.kekVersion,
    })),
  };
}

/** DELETE /v1/credentials/{ref}: removes the metadata and every encrypted version. */
export async function deleteCredential(ctx: VaultContext, actor: Actor, ref: string): Promise<void> {
  await writingCredential(ctx, ref, async (row) => {
    await verifyCurrentVersion(ctx, actor, row, "credentials.delete");
    await remove(ctx, actor, row);
  });
}

async function remove(ctx: VaultContext, actor: Actor, row: store.CredentialRow): Promise<void> {
  const versions = await store.listVersions(ctx.db, row.id);
  await commitD1Change(
    ctx,
    actor,
    [
      {
        type: "credential.deleted",
        target: credentialTarget(row.id),
        details: { name: row.name, versions: versions.length },
      },
    ],
    { credentialId: row.id, name: row.name, mutation: { kind: "delete" } },
    () => markHeadDeleted(ctx.sql, row.id, row.currentVersion, ctx.now()),
  );
}

/**
 * Applies retention after a change that has already succeeded: a failed purge (nothing written,
 * or left in the outbox to finish) must not turn that change into an error.
 */
async function retain(
  ctx: VaultContext,
  actor: Actor,
  row: store.CredentialRow,
  current: number,
  keep: number,
): Promise<void> {
  try {
    await purgeOldVersions(ctx, actor, row, current, keep);
  } catch (error) {
    console.error("version retention failed; retried at the next rotation", {
      request_id: actor.requestId,
      credential_id: row.id,
      error: String(error),
    });
  }
}

/**
 * Retention: deletes the D1 rows of versions older than the newest `keep` (their wrapped DEKs
 * with them, so those values are gone for good), one `credential.version_purged` entry each.
 * Leases already issued on a purged version keep what they were given and can still be renewed.
 */
async function purgeOldVersions(
  ctx: VaultContext,
  actor: Actor,
  row: store.CredentialRow,
  current: number,
  keep: number,
): Promise<void> {
  const doomed = (await store.listVersions(ctx.db, row.id)).filter((v) => v.version <= current - keep);
  if (doomed.length === 0) return;
  const entry = (version: number) => ({
    type: "credential.version_purged",
    target: credentialTarget(row.id, version),
    details: { name: row.name, current_version: current, keep_versions: keep },
  });
  // One entry per purged version, all in the intent's transaction.
  await commitD1Change(
    ctx,
    actor,
    doomed.map((v) => entry(v.version)),
    { credentialId: row.id, name: row.name, mutation: { kind: "purge", through: current - keep } },
  );
}

/**
 * Decrypts one version of a credential. Internal: the API's only way to a value is a lease,
 * which calls this after authorisation and in the same step as its audit entry.
 */
export async function openVersion(ctx: VaultContext, credentialId: string, version: number): Promise<Uint8Array> {
  const row = await store.getVersion(ctx.db, credentialId, version);
  if (!row) throw new VaultError("not_found", "no such credential version");
  const kek = await ctx.keks.get(row.kekVersion);
  return openCredentialValue(row, kek, { tenantId: ctx.tenantId, credentialId, version });
}
