import { VaultError } from "../../worker/contract/errors";
import type { PendingLease } from "../../worker/contract/schemas/access-requests";
import type { LeaseWithValue } from "../../worker/contract/schemas/leases";
import { credentialTarget, record } from "../audit/record";
import { decideAccessRequest, dueAccessRequests, findAccessRequest } from "../storage/access-requests";
import { iso, type Actor, type VaultContext } from "../vault-context";
import { isOpen, refuseOnRequest, requestView } from "./access-request-view";
import { loadVerifiedCredential } from "./credential-integrity";
import { issueLease, leaseCap } from "./lease-issue";
import { decideAcl } from "./teams";

/**
 * POST /v1/access-requests/{id}/lease, or POST /v1/leases with `request`: the requester collects
 * the one lease an approval grants. Still pending: the request again (202). The ACL is checked
 * again (a deny rule written since wins) and the TTL is the one asked for, capped by the
 * credential's maximum now. The request moves to `collected` in the lease's own transaction, so
 * of two racing collections exactly one gets a lease.
 */
export async function collectAccessRequest(
  ctx: VaultContext,
  actor: Actor,
  id: string,
  credentialId?: string,
): Promise<LeaseWithValue | PendingLease> {
  const row = findAccessRequest(ctx.sql, id);
  // Annotated, so that calls narrow `row` and `found` (TS only narrows through declared `never` functions).
  const refuseCollect: (reason: string, error: VaultError) => never = (reason, error) =>
    refuseOnRequest(ctx, actor, "lease.denied", id, row, reason, error);
  // Only the requester's identity collects; anyone else's attempt looks like a missing request.
  if (!row || row.identity !== actor.identity)
    refuseCollect(row ? "not_requester" : "no_such_request", new VaultError("not_found", "no such access request"));
  if (credentialId !== undefined && credentialId !== row.credential_id)
    refuseCollect(
      "other_credential",
      new VaultError("conflict", `access request ${id} is for credential "${row.credential_name}"`),
    );
  const now = ctx.now();
  if (isOpen(row, now, "pending")) return { request: requestView(row, now) };
  if (!isOpen(row, now, "approved")) {
    const view = requestView(row, now);
    const why =
      view.status === "collected"
        ? `was already collected (lease ${row.lease_id}); request access again`
        : view.status === "denied"
          ? `was denied${row.reason ? `: ${row.reason}` : ""}`
          : "expired; request access again";
    refuseCollect(`request_${view.status}`, new VaultError("conflict", `access request ${id} ${why}`));
  }
  const found = await loadVerifiedCredential(ctx, actor, row.credential_id, "access_requests.collect");
  if (!found)
    refuseCollect(
      "credential_deleted",
      new VaultError("conflict", "the credential of this access request no longer exists"),
    );
  const decision = decideAcl(ctx, found.credential, actor.identity, "lease");
  if (!decision.allowed && decision.approvers === undefined) {
    refuseCollect(
      "acl_denied",
      new VaultError("acl_denied", `credential "${found.credential.name}" does not allow leases by ${actor.identity}`),
    );
  }
  const cap = leaseCap(ctx, found.credential);
  return issueLease(ctx, actor, found, {
    ttl: Math.min(row.ttl, cap),
    cap,
    agent: row.agent,
    purpose: row.purpose,
    details: { access_request: id, approved_by: row.decided_by },
    claim: (leaseId) => {
      if (!decideAccessRequest(ctx.sql, id, "approved", { status: "collected", at: ctx.now(), leaseId }))
        throw new VaultError("conflict", `access request ${id} was already collected`);
    },
  });
}

/**
 * Expires open requests past their deadline: at most LEASE_EXPIRY_BATCH per call, in one
 * transaction, each with its `access.expired` entry (index access_requests_open, never a scan).
 */
export function expireDueRequests(ctx: VaultContext): { expired: number; more: boolean } {
  const limit = ctx.config.LEASE_EXPIRY_BATCH;
  const due = dueAccessRequests(ctx.sql, ctx.now(), limit);
  let expired = 0;
  ctx.storage.transactionSync(() => {
    for (const row of due) {
      if (
        !decideAccessRequest(ctx.sql, row.id, row.status as "pending" | "approved", {
          status: "expired",
          at: row.expires_at,
        })
      )
        continue;
      expired++;
      record(ctx, null, {
        type: "access.expired",
        target: credentialTarget(row.credential_id),
        details: { request_id: row.id, requester: row.identity, was: row.status, expired_at: iso(row.expires_at) },
      });
    }
  });
  return { expired, more: due.length === limit };
}
