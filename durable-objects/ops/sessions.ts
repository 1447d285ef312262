import { roleAtLeast } from "../../worker/contract/roles";
import { hashToken, mintToken } from "../../worker/core/auth/tokens";
import { VaultError } from "../../worker/contract/errors";
import { newId } from "../../worker/core/ids";
import type { CreateSessionInput } from "../../worker/contract/schemas/sessions";
import type { CreatedToken } from "../../worker/contract/schemas/tokens";
import { record } from "../audit/record";
import { findTokenById, insertToken, revokeToken, type TokenRow } from "../storage/tokens";
import { isoOrNull, type Actor, type VaultContext } from "../vault-context";
import { tokenView } from "./tokens";

const DEFAULT_SESSION_SECONDS = 3600;

/**
 * POST /v1/sessions: a session token for dashboards and CLI logins. Never longer-lived than the
 * API token that creates it (and at most SESSION_MAX_TTL_SECONDS), never a higher role, same
 * identity; revoking the API token ends its sessions. Sessions cannot mint sessions.
 */
export async function createSession(ctx: VaultContext, actor: Actor, input: CreateSessionInput): Promise<CreatedToken> {
  if (actor.kind !== "api")
    throw new VaultError("forbidden", "a session token cannot create another session; use an API token");
  const role = input.role ?? actor.role;
  if (!roleAtLeast(actor.role, role))
    throw new VaultError("forbidden", `a session cannot have a higher role than its API token (${actor.role})`);
  const now = ctx.now();
  const ttl = Math.min(input.ttl ?? DEFAULT_SESSION_SECONDS, ctx.config.SESSION_MAX_TTL_SECONDS);
  const expiresAt = actor.expiresAt === null ? now + ttl * 1000 : Math.min(now + ttl * 1000, actor.expiresAt);
  const token = mintToken("session", ctx.tenantId);
  const row: TokenRow = {
    id: newId("tok"),
    token_hash: await hashToken(await ctx.pepper, token),
    kind: "session",
    name: input.name ?? "session",
    role,
    identity: actor.identity,
    created_at: now,
    created_by: actor.tokenId,
    expires_at: expiresAt,
    revoked_at: null,
    revoked_by: null,
    parent_id: actor.tokenId,
  };
  ctx.storage.transactionSync(() => {
    insertToken(ctx.sql, row);
    record(ctx, actor, {
      type: "session.created",
      target: { kind: "token", id: row.id },
      details: { role, expires_at: isoOrNull(expiresAt) },
    });
  });
  return { ...tokenView(row), token };
}

/**
 * DELETE /v1/sessions/{id}: the session itself, the API token that created it, or an admin.
 * Anything else answers like a missing session, and the refusal is audited (`session.revoke_denied`).
 */
export function revokeSession(ctx: VaultContext, actor: Actor, id: string): void {
  const row = findTokenById(ctx.sql, id);
  const mine = row !== undefined && (row.id === actor.tokenId || row.parent_id === actor.tokenId);
  const refusal = !row
    ? "no_such_session"
    : row.kind !== "session"
      ? "not_a_session"
      : !mine && !roleAtLeast(actor.role, "admin")
        ? "not_owner"
        : null;
  if (refusal !== null || !row) {
    ctx.storage.transactionSync(() =>
      record(ctx, actor, {
        type: "session.revoke_denied",
        target: row ? { kind: "token", id } : null,
        outcome: "denied",
        details: { session_id: id, reason: refusal, code: "not_found" },
      }),
    );
    throw new VaultError("not_found", "no such session");
  }
  ctx.storage.transactionSync(() => {
    if (revokeToken(ctx.sql, id, actor.tokenId, ctx.now())) {
      record(ctx, actor, {
        type: "session.revoked",
        target: { kind: "token", id },
        details: { identity: row.identity },
      });
    }
  });
}
