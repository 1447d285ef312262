import { globMatches } from "../../worker/core/auth/glob";
import { collectAccessRequest } from "./access-request-collect";
import { isOpen, refuseOnRequest, requestView } from "./access-request-view";
import { newId } from "../../worker/core/ids";
import { VaultError } from "../../worker/contract/errors";
import { roleAtLeast } from "../../worker/contract/roles";
import {
  ACCESS_REQUEST_TTL_SECONDS,
  MAX_PENDING_PER_IDENTITY,
  MAX_PENDING_PER_TENANT,
  type AccessRequest,
  type ListAccessRequestsQuery,
  type PendingLease,
} from "../../worker/contract/schemas/access-requests";
import type { Approvers } from "../../worker/contract/schemas/acl";
import type { CreateLeaseInput, LeaseWithValue } from "../../worker/contract/schemas/leases";
import { credentialTarget, record, refuse } from "../audit/record";
import type { CredentialRow } from "../../worker/core/db/credentials";
import {
  countPending,
  decideAccessRequest,
  findAccessRequest,
  insertAccessRequest,
  listAccessRequests,
  openRequestFor,
  type AccessRequestRow,
} from "../storage/access-requests";
import { findTokenById } from "../storage/tokens";
import { listTeams } from "../storage/use";
import { iso, type Actor, type VaultContext } from "../vault-context";

/**
 * The API token a token descends from: a session's parent, else itself. Sessions carry their
 * parent's identity, and a future token kind might not: comparing lineages as well as identities
 * means no token minted from the requester's token approves its request.
 */
function tokenRoot(ctx: VaultContext, tokenId: string): string {
  return findTokenById(ctx.sql, tokenId)?.parent_id ?? tokenId;
}

/**
 * Why `actor` may not decide `row`, or null when it may: not the requester, and named by the
 * approvers now. `root` is the actor's token lineage (passed in when checking many rows).
 */
function approverRefusal(
  ctx: VaultContext,
  actor: Actor,
  row: AccessRequestRow,
  root = tokenRoot(ctx, actor.tokenId),
): "own_request" | "not_approver" | null {
  if (actor.identity === row.identity || actor.tokenId === row.token_id || root === row.token_root)
    return "own_request";
  return qualifies(ctx, actor, row.approvers) ? null : "not_approver";
}

/** True when the actor has the approvers' role and is in their team, as the team stands now. */
function qualifies(ctx: VaultContext, actor: Actor, approvers: Approvers): boolean {
  if (approvers.role !== undefined && !roleAtLeast(actor.role, approvers.role)) return false;
  if (approvers.team === undefined) return true;
  const team = listTeams(ctx.sql).find((t) => t.name === approvers.team);
  return team?.members.some((m) => globMatches(m, actor.identity)) ?? false;
}

/** What an approve rule held, for requestAccess. */
export interface HeldLease {
  credential: CredentialRow;
  /** Seconds, already within the credential's cap. */
  ttl: number;
  approvers: Approvers;
  rule: number | null;
}

/**
 * A lease request an approve rule held: answers the identity's pending request for the credential
 * if it has one (a retry adds nothing to the queue), collects its approved one if it has that (so
 * a plain retry after approval gets the lease, as the retry with the request id does), else
 * records a new request (`access.requested`) and arms the alarm for its expiry. Bounded per
 * identity and per tenant.
 */
export async function requestAccess(
  ctx: VaultContext,
  actor: Actor,
  input: CreateLeaseInput,
  held: HeldLease,
): Promise<LeaseWithValue | PendingLease> {
  const { credential } = held;
  const target = credentialTarget(credential.id);
  const refuseRequest = (error: VaultError): never =>
    refuse(
      ctx,
      actor,
      { type: "lease.denied", target, agent: input.agent, details: { credential: input.credential, approval: true } },
      error,
    );
  // A CI job has no one to wait for it and no way to collect: refuse it like any other ACL refusal.
  if (actor.kind === "oidc" || actor.kind === "webhook")
    refuseRequest(
      new VaultError(
        "acl_denied",
        `credential "${credential.name}" needs an approved access request; CI callers cannot request approval`,
      ),
    );
  const now = ctx.now();
  const existing = openRequestFor(ctx.sql, actor.identity, credential.id, now);
  if (existing?.status === "approved") return collectAccessRequest(ctx, actor, existing.id);
  if (existing) return { request: requestView(existing, now) };
  if (countPending(ctx.sql, now, actor.identity) >= MAX_PENDING_PER_IDENTITY) {
    refuseRequest(
      new VaultError(
        "rate_limited",
        `${actor.identity} already has ${MAX_PENDING_PER_IDENTITY} pending access requests; wait for a decision or for them to expire`,
      ),
    );
  }
  if (countPending(ctx.sql, now) >= MAX_PENDING_PER_TENANT)
    refuseRequest(new VaultError("rate_limited", "this tenant has too many pending access requests; try again later"));
  const row = {
    id: newId("areq"),
    credential_id: credential.id,
    credential_name: credential.name,
    identity: actor.identity,
    token_id: actor.tokenId,
    token_root: tokenRoot(ctx, actor.tokenId),
    agent: input.agent ?? null,
    purpose: input.purpose ?? null,
    ttl: held.ttl,
    approvers: held.approvers,
    created_at: now,
    expires_at: now + ACCESS_REQUEST_TTL_SECONDS * 1000,
  };
  ctx.storage.transactionSync(() => {
    insertAccessRequest(ctx.sql, row);
    record(ctx, actor, {
      type: "access.requested",
      target,
      agent: input.agent,
      details: {
        request_id: row.id,
        credential_name: credential.name,
        ttl: row.ttl,
        purpose: row.purpose,
        approvers: { ...row.approvers },
        rule: held.rule,
        expires_at: iso(row.expires_at),
      },
    });
  });
  await ctx.scheduleAlarm(row.expires_at);
  return {
    request: requestView(
      {
        ...row,
        n: 0,
        status: "pending",
        decided_at: null,
        decided_by: null,
        decided_token: null,
        reason: null,
        lease_id: null,
      },
      now,
    ),
  };
}

/** True when the actor may see the request: its requester's identity, a manager, or someone who could approve it. */
function visible(ctx: VaultContext, actor: Actor, row: AccessRequestRow): boolean {
  return (
    row.identity === actor.identity || roleAtLeast(actor.role, "manager") || approverRefusal(ctx, actor, row) === null
  );
}

/** GET /v1/access-requests: the caller's queue (pending requests it may approve now) or its own requests. */
export function listRequestViews(
  ctx: VaultContext,
  actor: Actor,
  q: ListAccessRequestsQuery,
): { items: AccessRequest[] } {
  const now = ctx.now();
  if (q.view === "mine")
    return {
      items: listAccessRequests(ctx.sql, { identity: actor.identity, limit: q.limit }).map((r) => requestView(r, now)),
    };
  // The tenant's pending requests are bounded (MAX_PENDING_PER_TENANT), so filtering them here stays cheap.
  const pending = listAccessRequests(ctx.sql, { pendingAfter: now, limit: MAX_PENDING_PER_TENANT });
  const root = tokenRoot(ctx, actor.tokenId);
  return {
    items: pending
      .filter((r) => approverRefusal(ctx, actor, r, root) === null)
      .slice(0, q.limit)
      .map((r) => requestView(r, now)),
  };
}

/** GET /v1/access-requests/{id}: another identity's request answers like a missing one unless the caller could approve it. */
export function getRequestView(ctx: VaultContext, actor: Actor, id: string): AccessRequest {
  const row = findAccessRequest(ctx.sql, id);
  if (!row || !visible(ctx, actor, row)) throw new VaultError("not_found", "no such access request");
  return requestView(row, ctx.now());
}

/**
 * POST /v1/access-requests/{id}/approve or /deny: someone the request's approvers name, who is
 * not the requester (nor any token of the requester's lineage), decides a pending request once.
 * An approval opens a window of ACCESS_REQUEST_TTL_SECONDS for the requester to collect its lease.
 */
export async function decideRequest(
  ctx: VaultContext,
  actor: Actor,
  id: string,
  decision: "approved" | "denied",
  reason: string | null,
): Promise<AccessRequest> {
  const row = findAccessRequest(ctx.sql, id);
  // Someone who could neither see nor decide it learns nothing about it.
  if (!row || !visible(ctx, actor, row))
    refuseOnRequest(
      ctx,
      actor,
      "access.decision_refused",
      id,
      row,
      row ? "not_visible" : "no_such_request",
      new VaultError("not_found", "no such access request"),
    );
  const refusal = approverRefusal(ctx, actor, row);
  if (refusal === "own_request")
    refuseOnRequest(
      ctx,
      actor,
      "access.decision_refused",
      id,
      row,
      refusal,
      new VaultError(
        "acl_denied",
        "nobody approves or denies their own access request (same identity or token lineage)",
      ),
    );
  if (refusal === "not_approver")
    refuseOnRequest(
      ctx,
      actor,
      "access.decision_refused",
      id,
      row,
      refusal,
      new VaultError("acl_denied", "you are not among this request's approvers"),
    );
  const now = ctx.now();
  if (!isOpen(row, now, "pending"))
    refuseOnRequest(
      ctx,
      actor,
      "access.decision_refused",
      id,
      row,
      "not_pending",
      new VaultError("conflict", `this access request is ${requestView(row, now).status}, not pending`),
    );
  const expiresAt = decision === "approved" ? now + ACCESS_REQUEST_TTL_SECONDS * 1000 : row.expires_at;
  ctx.storage.transactionSync(() => {
    if (
      !decideAccessRequest(ctx.sql, id, "pending", {
        status: decision,
        at: now,
        expiresAt,
        by: actor.identity,
        token: actor.tokenId,
        reason,
      })
    ) {
      throw new VaultError("conflict", "this access request was decided meanwhile");
    }
    record(ctx, actor, {
      type: decision === "approved" ? "access.approved" : "access.denied",
      target: credentialTarget(row.credential_id),
      details: {
        request_id: id,
        requester: row.identity,
        credential_name: row.credential_name,
        reason,
        ...(decision === "approved" ? { collect_by: iso(expiresAt) } : {}),
      },
    });
  });
  if (decision === "approved") await ctx.scheduleAlarm(expiresAt);
  return requestView(
    {
      ...row,
      status: decision,
      decided_at: now,
      decided_by: actor.identity,
      decided_token: actor.tokenId,
      reason,
      expires_at: expiresAt,
    },
    now,
  );
}
