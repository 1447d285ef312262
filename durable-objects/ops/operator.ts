import { rootKeyLabel } from "../../worker/core/kms";
import { VaultError } from "../../worker/contract/errors";
import { OperatorProofSchema, TenantActionSchema, type TenantAction } from "../../worker/contract/schemas/operator";
import { checkOperatorProof } from "../../worker/core/operator/proof";
import { checkpointIfDue } from "../audit/checkpoints";
import { parseInput, toWireError } from "../errors";
import { liveKekRows, replaceWrappedKek } from "../../worker/core/db/registry";
import { verifyAudit } from "../audit/query";
import { record } from "../audit/record";
import { kekStatus, rotateKek } from "../kek/rotation";
import { KEK_OUTBOX_KEY } from "../outbox/outbox";
import { getMeta } from "../storage/meta";
import { putKekCopy } from "../storage/kek-copies";
import { iso, type Actor, type VaultContext } from "../vault-context";
import { impactReport, revokeMatching } from "./break-glass";
import { setSuspension } from "./suspension";

/** Failures of an operator action recorded in the tenant's chain, as for tenant callers (#afterCall). */
const RECORDED_FAILURES = new Set(["kms_unavailable", "unavailable", "internal"]);

/**
 * The tenant side of an operator action (TenantVault.operatorAction): checks the OperatorPlane's
 * proof first (signature, this tenant, this exact action, at most minutes old; worker/core/operator/proof.ts),
 * so a forged call learns nothing from validation; then parses and runs the action as
 * `operator:<name>`. A server-side failure is recorded as `operation.failed` and answered as data;
 * a refused proof is not recorded (whoever sent it proved nothing).
 */
export async function actForOperator(ctx: VaultContext, proof: unknown, input: unknown): Promise<unknown> {
  const parsed = OperatorProofSchema.safeParse(proof);
  const refused = parsed.success
    ? await checkOperatorProof(ctx.config.TOKEN_PEPPER, parsed.data, {
        tenantId: ctx.tenantId,
        action: JSON.stringify(input),
        now: Date.now(),
      })
    : "malformed proof";
  if (refused !== null || !parsed.success) throw new VaultError("unauthorized", `operator proof refused: ${refused}`);
  const p = parsed.data.payload;
  const actor: Actor = {
    tokenId: p.token_id,
    kind: "operator",
    role: "admin",
    identity: p.operator,
    expiresAt: null,
    requestId: p.job_id,
  };
  const action = parseInput(TenantActionSchema, input);
  try {
    const result = await runOperatorAction(ctx, actor, action);
    await checkpointIfDue(ctx).catch((error: unknown) =>
      console.error("checkpoint failed", { request_id: p.job_id, error: String(error) }),
    );
    return result;
  } catch (error) {
    const wire = toWireError(error, p.job_id);
    if (RECORDED_FAILURES.has(wire.code)) {
      ctx.storage.transactionSync(() =>
        record(ctx, actor, {
          type: "operation.failed",
          target: null,
          outcome: "error",
          details: { operation: `operator.${action.action}`, code: wire.code },
        }),
      );
    }
    throw VaultError.fromWire(wire);
  }
}

/**
 * Operator actions on one tenant (issue 13 §3). Each reuses the tenant's own operation and lands
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
    case "impact":
      return impactSummary(ctx, actor, action.from, action.to);
    case "rewrap_root":
      return rewrapRoot(ctx, actor);
    case "suspend":
    case "reactivate":
      return setSuspension(ctx, actor, action.action, action.reason);
  }
}

/** Identities listed per credential in an operator's impact summary; the tenant's own report has them all. */
const IDENTITIES_PER_CREDENTIAL = 100;

/**
 * The tenant's impact report for a window, summarised per credential (lease counts, how many are
 * still active, up to 100 identities) for the job row and the disclosure draft: a report with
 * thousands of leases must not exceed what one stored row may hold. The tenant's admin sees every
 * lease in `GET /v1/incident/impact`. Plus the KEK versions, for "what was rotated".
 */
async function impactSummary(ctx: VaultContext, actor: Actor, from: string, to: string) {
  const report = impactReport(ctx, actor, Date.parse(from), Date.parse(to));
  const kek = await kekStatus(ctx);
  return {
    tenant: { id: ctx.tenantId, name: getMeta(ctx.sql, "tenant_name") ?? "" },
    impact: {
      from: report.from,
      to: report.to,
      truncated: report.truncated,
      credentials: report.credentials.map((c) => {
        const leases = c.leases as { end: string }[];
        return {
          credential_id: c.credential_id,
          credential_name: c.credential_name,
          identities: c.identities.slice(0, IDENTITIES_PER_CREDENTIAL),
          identities_total: c.identities.length,
          leases: leases.length,
          still_active: leases.filter((l) => l.end === "active").length,
        };
      }),
    },
    kek: {
      active_version: kek.active_version,
      versions: kek.versions.map((v) => ({ version: v.version, state: v.state, created_at: v.created_at })),
    },
  };
}

/**
 * Verifies the tenant's chain over a time window: the seq range of the entries inside it, with
 * the unsigned tail allowed (a live chain always has one; it is counted). Recorded as
 * `operator.audit_verified`, after the check, so the entry is not part of what it vouches for.
 */
async function verifyWindow(ctx: VaultContext, actor: Actor, from?: string, to?: string) {
  const lo = ctx.sql
    .exec<{ s: number | null }>("SELECT min(seq) AS s FROM audit WHERE ts >= ?", from ? Date.parse(from) : 0)
    .one().s;
  const hi = ctx.sql
    .exec<{ s: number | null }>(
      "SELECT max(seq) AS s FROM audit WHERE ts <= ?",
      to ? Date.parse(to) : Number.MAX_SAFE_INTEGER,
    )
    .one().s;
  const result =
    lo === null || hi === null || hi < lo
      ? { ok: true as const, from_seq: lo ?? 0, to_seq: hi ?? 0, checked: 0 }
      : await verifyAudit(ctx, { from_seq: lo, to_seq: hi, allow_unsigned_tail: true });
  ctx.storage.transactionSync(() =>
    record(ctx, actor, {
      type: "operator.audit_verified",
      target: { kind: "tenant", id: ctx.tenantId },
      outcome: result.ok ? "success" : "error",
      details: {
        from: from ?? null,
        to: to ?? null,
        ok: result.ok,
        ...(result.ok ? { checked: result.checked } : { seq: result.seq, reason: result.reason }),
      },
    }),
  );
  return result;
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
  // During a move, the root the KEKs come from (by name; a version rotation has none).
  const fromRoot = ctx.config.kms.previous ? rootKeyLabel(ctx.config.kms.previous) : null;
  return ctx.outbox.exclusive(KEK_OUTBOX_KEY, async () => {
    const rewrapped: number[] = [];
    const already: number[] = [];
    for (const row of await liveKekRows(ctx.db)) {
      if (row.rootJob === job || row.wrappedKek === null) {
        // A resumed job: the object's copy may still be the old root's if the crash came between.
        if (row.wrappedKek !== null) putKekCopy(ctx.sql, row.version, row.wrappedKek, ctx.now());
        already.push(row.version);
        continue;
      }
      const wrapped = await ctx.kms.rewrapKek(row.wrappedKek, { tenantId: ctx.tenantId, kekVersion: row.version });
      if (await replaceWrappedKek(ctx.db, row.version, wrapped, { rootKey, job })) {
        // The copy follows D1, so the old root can be removed once every tenant is moved.
        putKekCopy(ctx.sql, row.version, wrapped, ctx.now());
        rewrapped.push(row.version);
      } else already.push(row.version);
      // Test-only crash point (outbox/faults.ts): one KEK moved, the rest of the tenant not yet.
      if (rewrapped.length === 1) await ctx.faults.point("mid-root-rewrap");
    }
    ctx.storage.transactionSync(() =>
      record(ctx, actor, {
        type: "kek.root_rewrapped",
        target: { kind: "tenant_kek", id: ctx.tenantId },
        details: { root_key: rootKey, previous_root_key: fromRoot, job_id: job, rewrapped, already },
      }),
    );
    return { root_key: rootKey, previous_root_key: fromRoot, rewrapped, already, at: iso(ctx.now()) };
  });
}
