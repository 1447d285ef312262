import type { AccessRequest } from "../../worker/contract/schemas/access-requests";
import type { AccessRequestRow } from "../storage/access-requests";
import { iso, isoOrNull } from "../vault-context";

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
