import { roleAtLeast } from "../../worker/contract/roles";
import { utf8Decode } from "../../worker/core/crypto";
import { openCredentialValue } from "../../worker/core/crypto";
import { VaultError } from "../../worker/contract/errors";
import { newId } from "../../worker/core/ids";
import type { CreateLeaseInput, Lease, LeasePage, LeaseWithValue, ListLeasesQuery } from "../../worker/contract/schemas/leases";
import { credentialTarget, record, refuse } from "../audit/record";
import { endLease, findLease, insertLease, listLeases, setLeaseExpiry, type LeaseRow, type NewLease } from "../storage/leases";
import { iso, isoOrNull, type Actor, type VaultContext } from "../vault-context";
import { loadVerifiedCredential } from "./credential-integrity";
import { requireCredential } from "./credentials";
import { decideAcl } from "./teams";

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

/** Records a refused lease request (`lease.denied`) and throws the refusal. */
function refuseLease(ctx: VaultContext, actor: Actor, input: CreateLeaseInput, error: VaultError, credentialId?: string): never {
  refuse(ctx, actor, { type: "lease.denied", target: credentialId ? credentialTarget(credentialId) : null, agent: input.agent, details: { credential: input.credential } }, error);
}

/**
 * POST /v1/leases: the only way to a credential value. Authorise, pick the TTL, decrypt, then
 * write the lease and its audit entry in one transaction; the value is returned only after
 * both are stored, so a lease that was not recorded never hands out a value.
 */
export async function createLease(ctx: VaultContext, actor: Actor, input: CreateLeaseInput): Promise<LeaseWithValue> {
  const found = await loadVerifiedCredential(ctx, actor, input.credential, "leases.create");
  if (!found) refuseLease(ctx, actor, input, new VaultError("not_found", "no such credential"));
  const { credential, current } = found;
  const decision = decideAcl(ctx, credential, actor.identity, "lease");
  if (!decision.allowed) {
    // Names the credential, never the rules: a refused caller learns nothing about the policy.
    refuseLease(ctx, actor, input, new VaultError("acl_denied", `credential "${credential.name}" does not allow leases by ${actor.identity}`), credential.id);
  }
  const cap = Math.min(credential.maxTtl, ctx.config.TENANT_MAX_LEASE_TTL_SECONDS);
  let ttl = input.ttl ?? credential.defaultTtl;
  if (ttl > cap) {
    if (!input.clamp) {
      const error = new VaultError("validation_failed", `ttl ${ttl}s exceeds this credential's maximum of ${cap}s; ask for less or send clamp: true`);
      refuseLease(ctx, actor, input, error, credential.id);
    }
    ttl = cap;
  }
  const plaintext = await openCredentialValue(current, await ctx.keks.get(current.kekVersion), {
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
    agent: input.agent ?? null,
    purpose: input.purpose ?? null,
    issued_at: now,
    expires_at: now + ttl * 1000,
    max_expires_at: now + cap * 1000,
    ttl,
  };
  ctx.storage.transactionSync(() => {
    insertLease(ctx.sql, lease);
    record(ctx, actor, {
      type: "lease.created",
      target: credentialTarget(credential.id, current.version),
      agent: input.agent,
      details: { lease_id: lease.id, credential_name: credential.name, ttl, expires_at: iso(lease.expires_at), purpose: lease.purpose, rule: decision.rule, team: decision.team },
    });
  });
  await ctx.scheduleAlarm(lease.expires_at);
  return { lease: leaseView({ ...lease, n: 0, state: "active", ended_at: null, revoked_by: null }, now), value: utf8Decode(plaintext) };
}

/** Finds a lease the actor may see: managers see all, everyone else only their identity's. */
function visibleLease(ctx: VaultContext, actor: Actor, id: string): LeaseRow {
  const row = findLease(ctx.sql, id);
  // Another identity's lease answers exactly like a missing one.
  if (!row || (!roleAtLeast(actor.role, "manager") && row.identity !== actor.identity)) throw new VaultError("not_found", "no such lease");
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
  refuseChange(ctx, actor, verb, id, row, row ? "not_holder" : "no_such_lease", new VaultError("not_found", "no such lease"));
}

type LeaseChange = "renew" | "revoke";

/** Records a refused renewal or revocation (`lease.renew_denied` / `lease.revoke_denied`) and throws it. */
function refuseChange(ctx: VaultContext, actor: Actor, verb: LeaseChange, id: string, row: LeaseRow | undefined, reason: string, error: VaultError): never {
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
    refuseChange(ctx, actor, "renew", row.id, row, "credential_deleted", new VaultError("conflict", "the credential of this lease no longer exists; the lease cannot be renewed"));
  }
  if (!decideAcl(ctx, found.credential, row.identity, "lease").allowed) {
    const error = new VaultError("acl_denied", `credential "${found.credential.name}" no longer allows leases by ${row.identity}; the lease cannot be renewed`);
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
  return { items: page.map((r) => leaseView(r, now)), next_cursor: rows.length > q.limit ? String(page[page.length - 1]!.n) : null };
}

/** Refuses to touch a lease that has ended (or lapsed without the alarm having run yet). */
function requireActive(row: LeaseRow, now: number, verb: string): void {
  if (row.state !== "active" || row.expires_at <= now) {
    throw new VaultError("conflict", `cannot ${verb} a lease that is ${row.state === "revoked" ? "revoked" : "expired"}`);
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
