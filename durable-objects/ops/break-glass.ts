import { globMatches } from "../../worker/core/auth/glob";
import type { RevokeMatchingInput } from "../../worker/contract/schemas/leases";
import { credentialTarget, record } from "../audit/record";
import { activeLeasesAfter, endLease, leasesHeldDuring } from "../storage/leases";
import { iso, isoOrNull, type Actor, type VaultContext } from "../vault-context";
import { requireCredential } from "./credentials";

/** Leases revoked per transaction: bounds how long one write holds the Durable Object. */
const REVOKE_BATCH = 500;

/**
 * POST /v1/leases/revoke: break glass. Revokes every active lease matching the filter, in
 * bounded batches, each lease with its own audit entry, then one summary entry.
 */
export async function revokeMatching(
  ctx: VaultContext,
  actor: Actor,
  filter: RevokeMatchingInput,
): Promise<{ revoked: number }> {
  const credentialId =
    filter.credential === undefined ? undefined : (await requireCredential(ctx, filter.credential)).id;
  const identity = filter.identity ?? null;
  let cursor = { expiresAt: -1, n: 0 };
  let revoked = 0;
  for (;;) {
    const batch = activeLeasesAfter(ctx.sql, cursor, credentialId, REVOKE_BATCH);
    if (batch.length === 0) break;
    const last = batch[batch.length - 1]!;
    cursor = { expiresAt: last.expires_at, n: last.n };
    const now = ctx.now();
    ctx.storage.transactionSync(() => {
      for (const lease of batch) {
        if (identity !== null && !globMatches(identity, lease.identity)) continue;
        // Past its deadline it has already ended (the API shows it expired): the alarm records that, not us.
        if (lease.expires_at <= now) continue;
        if (!endLease(ctx.sql, lease.id, "revoked", now, actor.tokenId)) continue;
        revoked++;
        record(ctx, actor, {
          type: "lease.revoked",
          target: credentialTarget(lease.credential_id, lease.version),
          details: { lease_id: lease.id, holder: lease.identity, break_glass: true },
        });
      }
    });
  }
  ctx.storage.transactionSync(() =>
    record(ctx, actor, {
      type: "lease.revoked_matching",
      target: credentialId ? credentialTarget(credentialId) : null,
      details: {
        credential: filter.credential ?? null,
        identity: filter.identity ?? null,
        all: filter.all ?? false,
        reason: filter.reason ?? null,
        revoked,
      },
    }),
  );
  return { revoked };
}

/** The most leases an impact report lists; beyond it the report says it is truncated. */
const IMPACT_LIMIT = 10_000;

/**
 * Incident impact report: for a time window, which credentials were leased, by which
 * identities and agents, and how each lease ended (expired, revoked, or still active).
 */
export function impactReport(ctx: VaultContext, actor: Actor, from: number, to: number) {
  const now = ctx.now();
  const rows = leasesHeldDuring(ctx.sql, from, to, IMPACT_LIMIT + 1);
  const byCredential = new Map<
    string,
    { credential_id: string; credential_name: string; identities: Set<string>; leases: unknown[] }
  >();
  for (const row of rows.slice(0, IMPACT_LIMIT)) {
    let entry = byCredential.get(row.credential_id);
    if (!entry)
      byCredential.set(
        row.credential_id,
        (entry = {
          credential_id: row.credential_id,
          credential_name: row.credential_name,
          identities: new Set(),
          leases: [],
        }),
      );
    entry.identities.add(row.identity);
    const lapsed = row.state === "active" && row.expires_at <= now;
    entry.leases.push({
      lease_id: row.id,
      version: row.version,
      identity: row.identity,
      agent: row.agent,
      issued_at: iso(row.issued_at),
      end: lapsed || row.state === "expired" ? "expired" : row.state === "revoked" ? "revoked" : "active",
      ended_at: lapsed ? iso(row.expires_at) : isoOrNull(row.ended_at),
      expires_at: iso(row.expires_at),
    });
  }
  ctx.storage.transactionSync(() =>
    record(ctx, actor, {
      type: "incident.report",
      target: null,
      details: { from: iso(from), to: iso(to), leases: Math.min(rows.length, IMPACT_LIMIT) },
    }),
  );
  return {
    from: iso(from),
    to: iso(to),
    truncated: rows.length > IMPACT_LIMIT,
    credentials: [...byCredential.values()].map((c) => ({ ...c, identities: [...c.identities].sort() })),
  };
}
