import { mintToken, hashToken } from "../../worker/core/auth/tokens";
import { VaultError } from "../../worker/contract/errors";
import { newId } from "../../worker/core/ids";
import type {
  CreatedToken,
  CreateTokenInput,
  ListTokensQuery,
  Token,
  TokenPage,
  Whoami,
} from "../../worker/contract/schemas/tokens";
import { findTokenById, insertToken, listTokens, revokeToken, type TokenRow } from "../storage/tokens";
import { record } from "../audit/record";
import { iso, isoOrNull, type Actor, type VaultContext } from "../vault-context";

/** A stored token as the API shows it. */
export function tokenView(row: TokenRow): Token {
  return {
    id: row.id,
    kind: row.kind,
    name: row.name,
    role: row.role,
    identity: row.identity,
    created_at: iso(row.created_at),
    created_by: row.created_by,
    expires_at: isoOrNull(row.expires_at),
    revoked_at: isoOrNull(row.revoked_at),
  };
}

/** GET /v1/whoami */
export function whoami(ctx: VaultContext, actor: Actor): Whoami {
  return {
    tenant_id: ctx.tenantId,
    token_id: actor.tokenId,
    kind: actor.kind,
    identity: actor.identity,
    role: actor.role,
    expires_at: isoOrNull(actor.expiresAt),
  };
}

/**
 * Mints an API token and the row that stores it (not yet written, so the caller can write it in
 * the same transaction as related state). The token is returned once; only its HMAC is kept.
 * `createdBy` is the creating token's id, or "bootstrap".
 */
export async function mintApiToken(
  ctx: VaultContext,
  input: CreateTokenInput,
  createdBy: string,
  now = ctx.now(),
): Promise<{ row: TokenRow; created: CreatedToken }> {
  const token = mintToken("api", ctx.tenantId);
  const row: TokenRow = {
    id: newId("tok"),
    token_hash: await hashToken(await ctx.pepper, token),
    kind: "api",
    name: input.name,
    role: input.role,
    identity: input.identity,
    created_at: now,
    created_by: createdBy,
    expires_at: input.expires_in === undefined ? null : now + input.expires_in * 1000,
    revoked_at: null,
    revoked_by: null,
    parent_id: null,
  };
  return { row, created: { ...tokenView(row), token } };
}

/**
 * The lifetime rule for minted tokens: a token never outlives the token that created it, and only
 * an API token mints one. Otherwise a session, or an admin token about to expire, could leave
 * behind a non-expiring admin token that survives its parent's expiry.
 */
function checkCreatorLifetime(actor: Actor, input: CreateTokenInput, now: number): void {
  if (actor.kind !== "api")
    throw new VaultError("forbidden", "a session token cannot create API tokens; use an API token");
  if (actor.expiresAt === null) return;
  const limit = iso(actor.expiresAt);
  if (input.expires_in === undefined) {
    throw new VaultError(
      "validation_failed",
      `expires_in is required: the creating token expires at ${limit}, and a token it creates may not outlive it`,
    );
  }
  if (now + input.expires_in * 1000 > actor.expiresAt) {
    throw new VaultError(
      "validation_failed",
      `expires_in (${input.expires_in}s) would outlive the creating token, which expires at ${limit}; ask for less`,
    );
  }
}

/** POST /v1/tokens: never outlives the creating token (see checkCreatorLifetime). */
export async function createToken(ctx: VaultContext, actor: Actor, input: CreateTokenInput): Promise<CreatedToken> {
  const now = ctx.now();
  checkCreatorLifetime(actor, input, now);
  const { row, created } = await mintApiToken(ctx, input, actor.tokenId, now);
  ctx.storage.transactionSync(() => {
    insertToken(ctx.sql, row);
    record(ctx, actor, {
      type: "token.created",
      target: { kind: "token", id: row.id },
      details: { name: row.name, role: row.role, identity: row.identity, expires_at: isoOrNull(row.expires_at) },
    });
  });
  return created;
}

/** GET /v1/tokens */
export function listTokenPage(ctx: VaultContext, q: ListTokensQuery): TokenPage {
  const rows = listTokens(ctx.sql, { limit: q.limit, cursor: q.cursor, includeRevoked: q.include_revoked });
  const page = rows.slice(0, q.limit);
  return { items: page.map(tokenView), next_cursor: rows.length > q.limit ? page[page.length - 1]!.id : null };
}

/** GET /v1/tokens/{id} */
export function getToken(ctx: VaultContext, id: string): Token {
  const row = findTokenById(ctx.sql, id);
  if (!row) throw new VaultError("not_found", "no such token");
  return tokenView(row);
}

/** DELETE /v1/tokens/{id}: takes effect on the very next request that presents the token. */
export function revokeTokenById(ctx: VaultContext, actor: Actor, id: string): void {
  const row = findTokenById(ctx.sql, id);
  if (!row) throw new VaultError("not_found", "no such token");
  ctx.storage.transactionSync(() => {
    if (revokeToken(ctx.sql, id, actor.tokenId, ctx.now())) {
      record(ctx, actor, {
        type: "token.revoked",
        target: { kind: "token", id },
        details: { identity: row.identity, role: row.role },
      });
    }
  });
}
