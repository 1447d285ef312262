import { digestsEqual, hashToken, parseToken } from "../../worker/core/auth/tokens";
import { VaultError } from "../../worker/contract/errors";
import { auditFingerprint } from "../audit/append";
import { recordAnonymousRefusal } from "../audit/refusals";
import { findTokenByHash, findTokenById, type TokenRow } from "../storage/tokens";
import type { Actor, VaultContext } from "../vault-context";

/** One answer for every authentication failure, so a caller learns nothing about which check failed. */
const UNAUTHORIZED = "invalid, expired or revoked token";

/**
 * Records a refused token within the tenant's refusal budget (audit/refusals.ts) and throws the
 * one 401. A presented token proves nothing, so whoever holds none can mint them freely: past
 * ANON_REFUSALS_PER_IP_PER_MINUTE refusals from one IP this minute, the answer is 429 instead,
 * keyed by tenant and IP rather than by the token (which would give every random token a fresh
 * allowance). Valid tokens are never counted, so they keep working from that IP.
 */
function deny(ctx: VaultContext, raw: string, requestId: string, reason: string, row?: TokenRow): never {
  // The token itself never reaches the log: a known token by id, an unknown one by keyed fingerprint.
  const { fromSameIp } = recordAnonymousRefusal(ctx, `auth.denied/${reason}`, {
    type: "auth.denied",
    target: row ? { kind: "token", id: row.id } : null,
    outcome: "denied",
    requestId,
    details: {
      reason,
      ...(row ? { identity: row.identity } : { token_fingerprint: auditFingerprint(ctx.auditKey, raw) }),
    },
  });
  if (fromSameIp > ctx.config.ANON_REFUSALS_PER_IP_PER_MINUTE)
    throw new VaultError("rate_limited", "too many refused requests from this address; retry after 60 seconds");
  throw new VaultError("unauthorized", UNAUTHORIZED);
}

/**
 * Authenticates a raw token against this tenant's own token table: HMAC under the pepper,
 * looked up by that digest, compared again in constant time, then checked for kind, revocation
 * and expiry. Revocation is immediate because nothing is cached. Every refusal is audited.
 */
export async function authenticate(ctx: VaultContext, raw: string, requestId: string): Promise<Actor> {
  const parsed = parseToken(raw);
  if (!parsed || parsed.tenantId !== ctx.tenantId) deny(ctx, raw, requestId, "malformed");
  const digest = await hashToken(await ctx.pepper, raw);
  const row = findTokenByHash(ctx.sql, digest);
  if (!row || !digestsEqual(row.token_hash, digest)) deny(ctx, raw, requestId, "unknown_token");
  if (row.kind !== parsed.kind) deny(ctx, raw, requestId, "wrong_kind", row);
  if (row.revoked_at !== null) deny(ctx, raw, requestId, "revoked", row);
  if (row.expires_at !== null && row.expires_at <= ctx.now()) deny(ctx, raw, requestId, "expired", row);
  if (row.parent_id !== null) {
    // A session lives only as long as the API token that created it.
    const parent = findTokenById(ctx.sql, row.parent_id);
    if (!parent || parent.revoked_at !== null || (parent.expires_at !== null && parent.expires_at <= ctx.now()))
      deny(ctx, raw, requestId, "parent_revoked", row);
  }
  return {
    tokenId: row.id,
    kind: row.kind,
    role: row.role,
    identity: row.identity,
    expiresAt: row.expires_at,
    requestId,
  };
}
