import type { KmsSettings } from "../../worker/core/kms";
import type { TenantAction } from "../../worker/contract/schemas/operator";
import { liveKekRows, replaceWrappedKek } from "../../worker/core/db/registry";
import { verifyAudit } from "../audit/query";
import { record } from "../audit/record";
import { kekStatus, rotateKek } from "../kek/rotation";
import { KEK_OUTBOX_KEY } from "../outbox/outbox";
import { getMeta } from "../storage/meta";
import { iso, type Actor, type VaultContext } from "../vault-context";
import { impactReport, revokeMatching } from "./break-glass";

/**
 * Operator actions on one tenant (issue 13 §3), run by the tenant's object once the OperatorPlane's
 * proof is checked (TenantVault.operatorAction). Each reuses the tenant's own operation and lands
 * in the tenant's chain with actor `operator:<name>` and the job id as request id.
 */
export async function runOperatorAction(ctx: VaultContext, actor: Actor, action: TenantAction): Promise<unknown> {
  switch (action.action) {
    case "verify_audit":
      return verifyWindow(ctx, actor, action.from, action.to);
    case "rotate_kek":
      return rotateKek(ctx, actor);
    case "revoke_leases":
      return revokeMatching(ctx, actor, { all: true, reason: action.reason });
    case "impact": {
      const impact = impactReport(ctx, actor, Date.parse(action.from), Date.parse(action.to));
      const kek = await kekStatus(ctx);
      return {
        tenant: { id: ctx.tenantId, name: getMeta(ctx.sql, "tenant_name") ?? "" },
        impact,
        kek: { active_version: kek.active_version, versions: kek.versions.map((v) => ({ version: v.version, state: v.state, created_at: v.created_at })) },
      };
    }
    case "rewrap_root":
      return rewrapRoot(ctx, actor);
  }
}

/**
 * Verifies the tenant's chain over a time window: the seq range of the entries inside it, with
 * the unsigned tail allowed (a live chain always has one; it is counted). Recorded as
 * `operator.audit_verified`, after the check, so the entry is not part of what it vouches for.
 */
async function verifyWindow(ctx: VaultContext, actor: Actor, from?: string, to?: string) {
  const lo = ctx.sql.exec<{ s: number | null }>("SELECT min(seq) AS s FROM audit WHERE ts >= ?", from ? Date.parse(from) : 0).one().s;
  const hi = ctx.sql.exec<{ s: number | null }>("SELECT max(seq) AS s FROM audit WHERE ts <= ?", to ? Date.parse(to) : Number.MAX_SAFE_INTEGER).one().s;
  const result = lo === null || hi === null || hi < lo
    ? { ok: true as const, from_seq: lo ?? 0, to_seq: hi ?? 0, checked: 0 }
    : await verifyAudit(ctx, { from_seq: lo, to_seq: hi, allow_unsigned_tail: true });
  ctx.storage.transactionSync(() =>
    record(ctx, actor, {
      type: "operator.audit_verified",
      target: { kind: "tenant", id: ctx.tenantId },
      outcome: result.ok ? "success" : "error",
      details: { from: from ?? null, to: to ?? null, ok: result.ok, ...(result.ok ? { checked: result.checked } : { seq: result.seq, reason: result.reason }) },
    }),
  );
  return result;
}

/** How a root key is named in KEK rows and audit entries: `<provider>:<key id or name>`. */
export function rootKeyLabel(kms: KmsSettings): string {
  return `${kms.provider}:${kms.provider === "gcp" ? kms.keyName : kms.keyId}`;
}

/**
 * Root-key rotation for this tenant (issue 13 §2): every KEK version that still has a wrapped KEK
 * is wrapped again under the provider's current root key (`KmsProvider.rewrapKek`: KMS re-encrypt
 * where the provider has it, else unwrap and wrap), with the same encryption context. DEKs and
 * values are not touched, and the KEK itself is unchanged, so caches stay valid. Each row is a
 * compare-and-set that skips rows this job already rewrapped: a resumed job repeats nothing.
 * Serialised with KEK rotation (the same outbox key), so a new version cannot slip past.
 */
async function rewrapRoot(ctx: VaultContext, actor: Actor) {
  const job = actor.requestId;
  const rootKey = rootKeyLabel(ctx.config.kms);
  return ctx.outbox.exclusive(KEK_OUTBOX_KEY, async () => {
    const rewrapped: number[] = [];
    const already: number[] = [];
    for (const row of await liveKekRows(ctx.db)) {
      if (row.rootJob === job || row.wrappedKek === null) {
        already.push(row.version);
        continue;
      }
      const wrapped = await ctx.kms.rewrapKek(row.wrappedKek, { tenantId: ctx.tenantId, kekVersion: row.version });
      if (await replaceWrappedKek(ctx.db, row.version, wrapped, { rootKey, job })) rewrapped.push(row.version);
      else already.push(row.version);
    }
    ctx.storage.transactionSync(() =>
      record(ctx, actor, { type: "kek.root_rewrapped", target: { kind: "tenant_kek", id: ctx.tenantId }, details: { root_key: rootKey, job_id: job, rewrapped, already } }),
    );
    return { root_key: rootKey, rewrapped, already, at: iso(ctx.now()) };
  });
}
