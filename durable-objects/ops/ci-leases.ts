import { globMatches } from "../../worker/core/auth/glob";
import { VaultError } from "../../worker/contract/errors";
import type { Lease, LeaseWithValue } from "../../worker/contract/schemas/leases";
import type { WebhookLeaseRequest } from "../../worker/contract/schemas/federation";
import { refuse } from "../audit/record";
import { recordAnonymousRefusal } from "../audit/refusals";
import type { Actor, VaultContext } from "../vault-context";
import { createLease, getLease, revokeLease } from "./leases";

/** What a trust policy or webhook allows its CI callers. */
export interface CiGrant {
  /** Credential name globs the caller may lease. */
  credentials: readonly string[];
  /** Seconds; caps the requested TTL together with each credential's own maximum. */
  maxTtl: number;
}

/** What every refused CI caller is told, whatever the cause (issue 9 §8). */
export const CI_REFUSED = "CI request refused; the tenant's audit log records why";

/** The one refusal of the CI entry points, so none reveals which tenants, webhooks or issuers exist. */
export function ciRefusal(): VaultError {
  return new VaultError("unauthorized", CI_REFUSED);
}

/**
 * Records a refused CI request (no lease was made) and throws the one opaque refusal. The cause
 * (`error`: unknown webhook, bad signature, untrusted issuer, no matching policy, expired,
 * replayed, …) goes only to the tenant's audit log, bounded and within the refusal budget: the
 * caller proved nothing, so it must learn nothing, not even whether the tenant exists.
 */
export function refuseCi(
  ctx: VaultContext,
  type: "oidc.denied" | "webhook.denied",
  details: Record<string, string | null>,
  error: VaultError,
  requestId: string,
): never {
  // No per-IP 429 here (unlike refused API tokens): an unknown tenant could never answer one, so it
  // would tell tenants apart. The Worker's per-tenant CI_RATE_LIMITER limits these routes instead.
  recordAnonymousRefusal(ctx, `${type}/${error.code}`, {
    type,
    target: null,
    outcome: "denied",
    requestId,
    details: { ...details, code: error.code, reason: error.message },
  });
  throw ciRefusal();
}

/**
 * Leases what a CI job asked for, each through the ordinary lease path (ACL, TTL caps, audit in
 * the same transaction), after checking the grant: every credential must match one of the grant's
 * globs, and the TTL may not exceed its maximum. All-or-nothing on the grant check; leases are
 * then issued one by one, and a later failure revokes nothing already issued (each is audited).
 */
export async function grantCiLeases(
  ctx: VaultContext,
  actor: Actor,
  grant: CiGrant,
  request: WebhookLeaseRequest,
): Promise<{ identity: string; leases: LeaseWithValue[] }> {
  for (const name of request.credentials) {
    if (!grant.credentials.some((glob) => globMatches(glob, name))) {
      const error = new VaultError("acl_denied", `this CI identity may not lease "${name}"`);
      refuse(ctx, actor, { type: "lease.denied", target: null, details: { credential: name } }, error);
    }
  }
  const ttl = Math.min(request.ttl ?? grant.maxTtl, grant.maxTtl);
  const leases: LeaseWithValue[] = [];
  for (const credential of request.credentials) {
    const issued = await createLease(ctx, actor, {
      credential,
      ttl,
      clamp: true,
      purpose: request.purpose,
      agent: request.agent,
    });
    // createLease refuses CI callers an approve rule holds (ops/access-requests.ts), so this cannot be a pending request.
    if (!("value" in issued)) throw new VaultError("internal", "a CI lease was held for approval");
    leases.push(issued);
  }
  return { identity: actor.identity, leases };
}

/**
 * Revokes a CI job's leases at its end. Each lease must be the caller's (another identity's is
 * refused as not found and audited, as for API tokens); one that already expired or was revoked is
 * returned as it is, so the end of a long job still succeeds for the others.
 */
export function revokeCiLeases(
  ctx: VaultContext,
  actor: Actor,
  ids: readonly string[],
): { identity: string; leases: Lease[] } {
  const leases = ids.map((id) => {
    try {
      return revokeLease(ctx, actor, id);
    } catch (error) {
      if (error instanceof VaultError && error.code === "conflict") return getLease(ctx, actor, id);
      throw error;
    }
  });
  return { identity: actor.identity, leases };
}
