import { findCredential, findCredentialWithCurrentVersion, type CredentialRow } from "../../worker/core/db/credentials";
import { VaultError } from "../../worker/contract/errors";
import { credentialTarget, record } from "../audit/record";
import type { CachedCredential } from "../credential-cache";
import { adoptHead, getHead, type HeadRow } from "../storage/credential-heads";
import { settle } from "../outbox/outbox";
import type { Actor, VaultContext } from "../vault-context";

/**
 * The Durable Object, not D1, is the authority for which version of a credential is current
 * (issue 9 §12): someone who can write D1 could otherwise roll `current_version` back and have
 * leases serve an old value, or bring a deleted credential back. Every read the lease path makes
 * is compared with the object's head (one primary-key lookup in its SQLite, no D1 round trip).
 */

/** What D1 shows of a credential: its id and current version, or nothing. */
interface Seen {
  id: string;
  version: number | null;
}

/** The head D1 disagrees with, or null when they agree. Adopts D1's version for a credential the object has no head for. */
function disagreement(ctx: VaultContext, actor: Actor | null, seen: Seen): HeadRow | null {
  const head = getHead(ctx.sql, seen.id);
  if (!head) {
    // Trust on first use: credentials created before heads existed. Adopted once, and audited.
    if (seen.version !== null) {
      const version = seen.version;
      ctx.storage.transactionSync(() => {
        adoptHead(ctx.sql, seen.id, version, ctx.now());
        record(ctx, actor, {
          type: "credential.version_adopted",
          target: credentialTarget(seen.id, version),
          details: { source: "d1" },
        });
      });
    }
    return null;
  }
  if (head.deleted_at !== null) return seen.version === null ? null : head;
  return seen.version === head.current_version ? null : head;
}

/** Records an `integrity.violation` and refuses with 500 `integrity_error`. */
function violation(ctx: VaultContext, actor: Actor | null, operation: string, head: HeadRow, seen: Seen): never {
  ctx.credentials.invalidate();
  ctx.storage.transactionSync(() =>
    record(ctx, actor, {
      type: "integrity.violation",
      target: credentialTarget(seen.id),
      outcome: "error",
      details: {
        operation,
        expected_version: head.current_version,
        deleted: head.deleted_at !== null,
        d1_version: seen.version,
      },
    }),
  );
  throw new VaultError(
    "integrity_error",
    "stored credential data disagrees with the vault's own record of it; nothing was served and the incident is in the audit log",
  );
}

/** A disagreement while this credential is being written is a race: ask the caller to retry. */
function refuseIfWriting(ctx: VaultContext, id: string): void {
  if (ctx.credentials.isWriting(id)) throw new VaultError("conflict", "the credential is being changed; retry");
}

/**
 * What D1 shows for `ref`. When the lease read found nothing (no credential, or its current
 * version's row is gone), a name is resolved to an id with a metadata read: that is the refusal
 * path, not the hot path, and it lets a live head catch a version row deleted behind its back.
 */
async function seenOf(ctx: VaultContext, ref: string, found: CachedCredential | undefined): Promise<Seen | null> {
  if (found) return { id: found.credential.id, version: found.current.version };
  if (ref.startsWith("cred_")) return { id: ref, version: null };
  const row = await findCredential(ctx.db, ref);
  return row ? { id: row.id, version: null } : null;
}

/**
 * The lease path's credential read (memory or one D1 read), checked against the object's head.
 * On a disagreement it reads D1 once more, bypassing the cache (a read that raced a completed
 * write), and refuses with `integrity_error` if D1 still disagrees.
 */
export async function loadVerifiedCredential(
  ctx: VaultContext,
  actor: Actor | null,
  ref: string,
  operation: string,
): Promise<CachedCredential | undefined> {
  // Free unless this credential has outbox rows pending; then they are applied first (or 503).
  await settle(ctx, ref);
  const load = () => findCredentialWithCurrentVersion(ctx.db, ref);
  const found = await ctx.credentials.get(ref, load);
  const seen = await seenOf(ctx, ref, found);
  if (seen === null || disagreement(ctx, actor, seen) === null) return found;
  refuseIfWriting(ctx, seen.id);
  ctx.credentials.invalidate();
  const fresh = await load();
  const again = (await seenOf(ctx, ref, fresh)) ?? seen;
  const head = disagreement(ctx, actor, again);
  if (head === null) return fresh;
  refuseIfWriting(ctx, again.id);
  violation(ctx, actor, operation, head, again);
}

/**
 * Checks a credential row read from D1 (for a get, update, rotate or delete) against the object's
 * head. On a disagreement D1 is read once more: if it now agrees, the row was read before a write
 * that has since completed (409, retry), otherwise D1 was changed behind the object's back.
 */
export async function verifyCurrentVersion(
  ctx: VaultContext,
  actor: Actor,
  row: CredentialRow,
  operation: string,
): Promise<void> {
  if (disagreement(ctx, actor, { id: row.id, version: row.currentVersion }) === null) return;
  refuseIfWriting(ctx, row.id);
  const fresh = await findCredential(ctx.db, row.id);
  const seen = { id: row.id, version: fresh?.currentVersion ?? null };
  const head = disagreement(ctx, actor, seen);
  if (head === null) throw new VaultError("conflict", "the credential changed while this request ran; retry");
  refuseIfWriting(ctx, row.id);
  violation(ctx, actor, operation, head, seen);
}
