import { digestsEqual, hashToken, parseToken } from "../../worker/auth/tokens";
import { VaultError } from "../../worker/errors";
import { findTokenByHash } from "../storage/tokens";
import type { Actor, VaultContext } from "../vault-context";

/** One answer for every authentication failure, so a caller learns nothing about which check failed. */
const UNAUTHORIZED = "invalid, expired or revoked token";

/**
 * Authenticates a raw token against this tenant's own token table: HMAC under the pepper,
 * looked up by that digest, compared again in constant time, then checked for tenant,
 * revocation and expiry. Revocation is immediate because nothing is cached.
 */
export async function authenticate(ctx: VaultContext, raw: string): Promise<Actor> {
  const parsed = parseToken(raw);
  if (!parsed || parsed.tenantId !== ctx.tenantId) throw new VaultError("unauthorized", UNAUTHORIZED);
  const digest = await hashToken(await ctx.pepper, raw);
  const row = findTokenByHash(ctx.sql, digest);
  if (!row || !digestsEqual(row.token_hash, digest)) throw new VaultError("unauthorized", UNAUTHORIZED);
  if (row.kind !== parsed.kind) throw new VaultError("unauthorized", UNAUTHORIZED);
  if (row.revoked_at !== null) throw new VaultError("unauthorized", UNAUTHORIZED);
  if (row.expires_at !== null && row.expires_at <= ctx.now()) throw new VaultError("unauthorized", UNAUTHORIZED);
  return { tokenId: row.id, kind: row.kind, role: row.role, identity: row.identity, expiresAt: row.expires_at };
}
