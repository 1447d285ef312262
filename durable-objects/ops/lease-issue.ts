import { utf8Decode } from "../../worker/core/crypto";
import { newId } from "../../worker/core/ids";
import type { JsonValue } from "../../worker/core/audit/canonical-json";
import type { Agent, Lease, LeaseWithValue } from "../../worker/contract/schemas/leases";
import { credentialTarget, record } from "../audit/record";
import type { CachedCredential } from "../credential-cache";
import { insertLease, type LeaseRow, type NewLease } from "../storage/leases";
import { iso, isoOrNull, type Actor, type VaultContext } from "../vault-context";

/** A stored lease as the API shows it; an active lease past its deadline shows as expired. */
export function leaseView(row: LeaseRow, now: number): Lease {
  const lapsed = row.state === "active" && row.expires_at <= now;
  return {
    id: row.id,
    credential_id: row.credential_id,
    credential_name: row.credential_name,
    version: row.version,
    identity: row.identity,
    token_id: row.token_id,
    agent: row.agent,
    purpose: row.purpose,
    issued_at: iso(row.issued_at),
    expires_at: iso(row.expires_at),
    max_expires_at: iso(row.max_expires_at),
    state: lapsed ? "expired" : row.state,
    ended_at: lapsed ? iso(row.expires_at) : isoOrNull(row.ended_at),
    revoked_by: row.revoked_by,
  };
}

/** The longest TTL (seconds) a lease of this credential may have: its own maximum, capped by the tenant's. */
export function leaseCap(ctx: VaultContext, credential: { maxTtl: number }): number {
  return Math.min(credential.maxTtl, ctx.config.TENANT_MAX_LEASE_TTL_SECONDS);
}

/** What an authorised lease is issued with. */
export interface LeaseTerms {
  /** Seconds, already within `cap`. */
  ttl: number;
  cap: number;
  agent: Agent | null;
  purpose: string | null;
  /** Added to the `lease.created` entry (the deciding rule, the access request collected). */
  details: { [key: string]: JsonValue };
  /**
   * Runs inside the lease's transaction before the lease is written; throwing rolls the whole
   * issue back (an access request a racing call collected first).
   */
  claim?: (leaseId: string) => void;
}

/**
 * Issues an authorised lease: decrypt, then write the lease and its audit entry in one
 * transaction; the value is returned only after both are stored, so a lease that was not
 * recorded never hands out a value. Authorisation is the caller's job (leases.ts, access-requests.ts).
 */
export async function issueLease(
  ctx: VaultContext,
  actor: Actor,
  found: CachedCredential,
  terms: LeaseTerms,
): Promise<LeaseWithValue> {
  const { credential, current } = found;
  const plaintext = await ctx.credentials.openValue(current, await ctx.keks.get(current.kekVersion), {
    tenantId: ctx.tenantId,
    credentialId: credential.id,
    version: current.version,
  });
  const now = ctx.now();
  const lease: NewLease = {
    id: newId("lease"),
    credential_id: credential.id,
    credential_name: credential.name,
    version: current.version,
    identity: actor.identity,
    token_id: actor.tokenId,
    agent: terms.agent,
    purpose: terms.purpose,
    issued_at: now,
    expires_at: now + terms.ttl * 1000,
    max_expires_at: now + terms.cap * 1000,
    ttl: terms.ttl,
  };
  ctx.storage.transactionSync(() => {
    // Throws to roll back: nothing of this lease is written if the claim fails.
    terms.claim?.(lease.id);
    insertLease(ctx.sql, lease);
    record(ctx, actor, {
      type: "lease.created",
      target: credentialTarget(credential.id, current.version),
      agent: terms.agent,
      details: {
        lease_id: lease.id,
        credential_name: credential.name,
        ttl: terms.ttl,
        expires_at: iso(lease.expires_at),
        purpose: lease.purpose,
        ...terms.details,
      },
    });
  });
  await ctx.scheduleAlarm(lease.expires_at);
  return {
    lease: leaseView({ ...lease, n: 0, state: "active", ended_at: null, revoked_by: null }, now),
    value: utf8Decode(plaintext),
  };
}
