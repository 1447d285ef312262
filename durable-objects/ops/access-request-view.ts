import type { VaultError } from "../../worker/contract/errors";
import type { AccessRequest } from "../../worker/contract/schemas/access-requests";
import { credentialTarget, refuse } from "../audit/record";
import type { AccessRequestRow } from "../storage/access-requests";
import { iso, isoOrNull, type Actor, type VaultContext } from "../vault-context";

/** A stored request as the API shows it; an open request past its deadline shows as expired. */
export function requestView(row: AccessRequestRow, now: number): AccessRequest {
  const lapsed = (row.status === "pending" || row.status === "approved") && row.expires_at <= now;
  return {
    id: row.id,
    credential_id: row.credential_id,
    credential_name: row.credential_name,
    identity: row.identity,
    token_id: row.token_id,
    agent: row.agent,
    purpose: row.purpose,
    ttl: row.ttl,
    status: lapsed ? "expired" : row.status,
    approvers: row.approvers,
    created_at: iso(row.created_at),
    expires_at: iso(row.expires_at),
    decided_at: isoOrNull(row.decided_at),
    decided_by: row.decided_by,
    reason: row.reason,
    lease_id: row.lease_id,
  };
}

/** True when the request is still open (not decided to an end, not lapsed). */
export const isOpen = (row: AccessRequestRow, now: number, status: "pending" | "approved"): boolean =>
  row.status === status && row.expires_at > now;

/**
 * Records a refused step on access request `id` (`lease.denied` for a collect, `access.decision_refused`
 * for an approval or denial), naming its credential when the request exists, and throws `error`.
 */
export function refuseOnRequest(
  ctx: VaultContext,
  actor: Actor,
  type: "lease.denied" | "access.decision_refused",
  id: string,
  row: AccessRequestRow | undefined,
  reason: string,
  error: VaultError,
): never {
  refuse(
    ctx,
    actor,
    { type, target: row ? credentialTarget(row.credential_id) : null, details: { request_id: id, refusal: reason } },
    error,
  );
}
