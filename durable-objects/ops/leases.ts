import { roleAtLeast } from "../../worker/contract/roles";
import { VaultError } from "../../worker/contract/errors";
import type { PendingLease } from "../../worker/contract/schemas/access-requests";
import type {
  CreateLeaseInput,
  Lease,
  LeasePage,
  LeaseWithValue,
  ListLeasesQuery,
} from "../../worker/contract/schemas/leases";
import { credentialTarget, record, refuse } from "../audit/record";
import { endLease, findLease, listLeases, setLeaseExpiry, type LeaseRow } from "../storage/leases";
import { iso, type Actor, type VaultContext } from "../vault-context";
import { collectAccessRequest } from "./access-request-collect";
import { requestAccess } from "./access-requests";
import { loadVerifiedCredential } from "./credential-integrity";
import { requireCredential } from "./credentials";
import { issueLease, leaseCap, leaseView } from "./lease-issue";
import { decideAcl } from "./teams";

export { leaseView };

/** Records a refused lease request (`lease.denied`) and throws the refusal. */
function refuseLease(
  ctx: VaultContext,
  actor: Actor,
  input: CreateLeaseInput,
  error: VaultError,
  credentialId?: string,
): never {
  refuse(
    ctx,
    actor,
    {
      type: "lease.denied",
      target: credentialId ? credentialTarget(credentialId) : null,
      agent: input.agent,
      details: { credential: input.credential },
    },
    error,
  );
}

/**
 * POST /v1/leases: the only way to a credential value. Authorise, pick the TTL, then issue
 * (lease-issue.ts). An approve rule holds the request instead: the answer is the access request
 * (202, no value, no lease) until it is approved, and the retry with its id collects the one lease.
 */
export async function createLease(
  ctx: VaultContext,
  actor: Actor,
  input: CreateLeaseInput,
): Promise<LeaseWithValue | PendingLease> {
  const found = await loadVerifiedCredential(ctx, actor, input.credential, "leases.create");
  if (!found) refuseLease(ctx, actor, input, new VaultError("not_found", "no such credential"));
  const { credential } = found;
  const decision = decideAcl(ctx, credential, actor.identity, "lease");
  if (!decision.allowed && decision.approvers === undefined) {
    // Names the credential, never the rules: a refused caller learns nothing about the policy.
    refuseLease(
      ctx,
      actor,
      input,
      new VaultError("acl_denied", `credential "${credential.name}" does not allow leases by ${actor.identity}`),
      credential.id,
    );
  }
  const cap = leaseCap(ctx, credential);
  let ttl = input.ttl ?? credential.defaultTtl;
  if (ttl > cap) {
    if (!input.clamp) {
      const error = new VaultError(
        "validation_failed",
        `ttl ${ttl}s exceeds this credential's maximum of ${cap}s; ask for less or send clamp: true`,
      );
      refuseLease(ctx, actor, input, error, credential.id);
    }
    ttl = cap;
  }
  if (input.request !== undefined) return collectAccessRequest(ctx, actor, input.request, credential.id);
  if (decision.approvers !== undefined)
    return requestAccess(ctx, actor, input, { credential, ttl, approvers: decision.approvers, rule: decision.rule });
  return issueLease(ctx, actor, found, {
    ttl,
    cap,
    agent: input.agent ?? null,
    purpose: input.purpose ?? null,
    details: { rule: decision.rule, team: decision.team },
  });
}

/** Finds a lease the actor may see: managers see all, everyone else only their identity's. */
function visibleLease(ctx: VaultContext, actor: Actor, id: string): LeaseRow {
  const row = findLease(ctx.sql, id);
  // Another identity's lease answers exactly like a missing one.
  if (!row || (!roleAtLeast(actor.role, "manager") && row.identity !== actor.identity))
    throw new VaultError("not_found", "no such lease");
  return row;
}

/**
 * Finds a lease the actor may renew or revoke, or records the refusal and answers 404. Another
 * identity's lease answers exactly like a missing one (the caller learns nothing), but the audit
 * log tells the two apart: probing other identities' lease ids is itself a signal.
 */
function changeableLease(ctx: VaultContext, actor: Actor, id: string, verb: LeaseChange): LeaseRow {
  const row = findLease(ctx.sql, id);
  if (row && (roleAtLeast(actor.role, "manager") || row.identity === actor.identity)) return row;
  refuseChange(
    ctx,
    actor,
    verb,
    id,
    row,
    row ? "not_holder" : "no_such_lease",
    new VaultError("not_found", "no such lease"),
  );
}

type LeaseChange = "renew" | "revoke";

/** Records a refused renewal or revocation (`lease.renew_denied` / `lease.revoke_denied`) and throws it. */
function refuseChange(
  ctx: VaultContext,
  actor: Actor,
  verb: LeaseChange,
  id: string,
  row: LeaseRow | undefined,
  reason: string,
  error: VaultError,
): never {
  ctx.storage.transactionSync(() =>
    record(ctx, actor, {
      type: `lease.${verb}_denied`,
      target: row ? credentialTarget(row.credential_id, row.version) : null,
      outcome: "denied",
      details: { lease_id: id, reason, code: error.code, message: error.message },
    }),
  );
  throw error;
}

/**
 * What a new lease for the holder would check, re-checked at renewal: the credential still
 * exists and its ACL still allows the lease's identity (the caller's token and role were checked
 * by authentication). Without this an identity the ACL no longer allows keeps its lease alive up
 * to the maximum lifetime.
 */
async function checkRenewable(ctx: VaultContext, actor: Actor, row: LeaseRow): Promise<void> {
  const found = await loadVerifiedCredential(ctx, actor, row.credential_id, "leases.renew");
  if (!found) {
    refuseChange(
      ctx,
      actor,
      "renew",
      row.id,
      row,
      "credential_deleted",
      new VaultError("conflict", "the credential of this lease no longer exists; the lease cannot be renewed"),
    );
  }
  if (!decideAcl(ctx, found.credential, row.identity, "lease").allowed) {
    const error = new VaultError(
      "acl_denied",
      `credential "${found.credential.name}" no longer allows leases by ${row.identity}; the lease cannot be renewed`,
    );
    refuseChange(ctx, actor, "renew", row.id, row, "acl_denied", error);
  }
}

/** GET /v1/leases/{id} */
export function getLease(ctx: VaultContext, actor: Actor, id: string): Lease {
  return leaseView(visibleLease(ctx, actor, id), ctx.now());
}

/** GET /v1/leases */
export async function listLeasePage(ctx: VaultContext, actor: Actor, q: ListLeasesQuery): Promise<LeasePage> {
  const manager = roleAtLeast(actor.role, "manager");
  if (!manager && q.identity !== undefined && q.identity !== actor.identity) {
    throw new VaultError("forbidden", "only managers may list another identity's leases");
  }
  const credentialId = q.credential === undefined ? undefined : (await requireCredential(ctx, q.credential)).id;
  const now = ctx.now();
  const rows = listLeases(ctx.sql, {
    state: q.state,
    credentialId,
    identity: manager ? q.identity : actor.identity,
    beforeN: q.cursor === undefined ? undefined : Number(q.cursor),
    limit: q.limit,
    now,
  });
  const page = rows.slice(0, q.limit);
  return {
    items: page.map((r) => leaseView(r, now)),
    next_cursor: rows.length > q.limit ? String(page[page.length - 1]!.n) : null,
  };
}

/** Refuses to touch a lease that has ended (or lapsed without the alarm having run yet). */
function requireActive(row: LeaseRow, now: number, verb: string): void {
  if (row.state !== "active" || row.expires_at <= now) {
    throw new VaultError(
      "conflict",
      `cannot ${verb} a lease that is ${row.state === "revoked" ? "revoked" : "expired"}`,
    );
  }
}

/** POST /v1/leases/{id}/renew: re-authorised like a new lease, never past the lease's maximum lifetime. */
export async function renewLease(ctx: VaultContext, actor: Actor, id: string, ttl: number | undefined): Promise<Lease> {
  const row = changeableLease(ctx, actor, id, "renew");
  requireActive(row, ctx.now(), "renew");
  await checkRenewable(ctx, actor, row);
  const now = ctx.now();
  // Without a TTL, extend by the one the lease was granted with (older rows: the first term).
  const wanted = ttl ?? row.ttl ?? Math.round((row.expires_at - row.issued_at) / 1000);
  const expiresAt = Math.min(now + wanted * 1000, row.max_expires_at);
  ctx.storage.transactionSync(() => {
    setLeaseExpiry(ctx.sql, id, expiresAt);
    record(ctx, actor, {
      type: "lease.renewed",
      target: credentialTarget(row.credential_id, row.version),
      details: { lease_id: id, expires_at: iso(expiresAt), capped: expiresAt < now + wanted * 1000 },
    });
  });
  // A shorter TTL can move the deadline earlier than the alarm already set.
  await ctx.scheduleAlarm(expiresAt);
  return leaseView({ ...row, expires_at: expiresAt }, now);
}

/** DELETE /v1/leases/{id}: the holder or a manager ends a lease now. */
export function revokeLease(ctx: VaultContext, actor: Actor, id: string): Lease {
  const row = changeableLease(ctx, actor, id, "revoke");
  const now = ctx.now();
  requireActive(row, now, "revoke");
  ctx.storage.transactionSync(() => {
    endLease(ctx.sql, id, "revoked", now, actor.tokenId);
    record(ctx, actor, {
      type: "lease.revoked",
      target: credentialTarget(row.credential_id, row.version),
      details: { lease_id: id, holder: row.identity },
    });
  });
  return leaseView({ ...row, state: "revoked", ended_at: now, revoked_by: actor.tokenId }, now);
}
