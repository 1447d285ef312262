import { VaultError } from "../../worker/contract/errors";
import { setTenantStatus } from "../../worker/core/db/registry";
import { record } from "../audit/record";
import { deleteMeta, getMeta, setMeta } from "../storage/meta";
import { iso, type Actor, type VaultContext } from "../vault-context";

/**
 * Tenant suspension (issue 13 §3, the runbook's P0 "contain" step): an operator suspends a tenant
 * and every tenant caller (token, session, CI by OIDC or webhook, the proxy) is refused with 403
 * `tenant_suspended` until an operator reactivates it. Leases already handed out stay valid
 * until they expire (the values are already out), but none is renewed or issued. The operator
 * plane still acts on a suspended tenant: verify its chain, rotate its KEKs, move its root key.
 *
 * The tenant's Durable Object holds the authoritative status (meta `tenant_suspended`); the D1
 * registry row follows it for the operator's listing and is rewritten on every repeat, so a job
 * retried after a D1 failure converges.
 */

/** What a suspend or reactivate action returns to the job. */
export interface SuspensionResult {
  status: "active" | "suspended";
  /** False when the tenant was already in that status (a repeated or retried job). */
  changed: boolean;
  at: string;
}

/** Suspends or reactivates the tenant, audited in its chain as `tenant.suspended` / `tenant.reactivated`. */
export async function setSuspension(
  ctx: VaultContext,
  actor: Actor,
  action: "suspend" | "reactivate",
  reason: string,
): Promise<SuspensionResult> {
  const suspended = getMeta(ctx.sql, "tenant_suspended") !== undefined;
  const want = action === "suspend";
  const changed = suspended !== want;
  if (changed) {
    // The status and its entry in one transaction (STYLE: a state change and its audit entry together).
    ctx.storage.transactionSync(() => {
      if (want) setMeta(ctx.sql, "tenant_suspended", { reason, at: ctx.now(), by: actor.identity });
      else deleteMeta(ctx.sql, "tenant_suspended");
      record(ctx, actor, {
        type: want ? "tenant.suspended" : "tenant.reactivated",
        target: { kind: "tenant", id: ctx.tenantId },
        details: { reason },
      });
    });
  }
  await setTenantStatus(ctx.db, want ? "suspended" : "active");
  return { status: want ? "suspended" : "active", changed, at: iso(ctx.now()) };
}

/**
 * The tenant object's view of its own status, read from storage once and then kept in memory, so
 * the check on every request is one boolean read. `forget()` after any operator action, which is
 * the only way the status changes.
 */
export class SuspensionFlag {
  #suspended: boolean | undefined;

  /** Throws 403 `tenant_suspended` while the tenant is suspended. */
  check(sql: SqlStorage): void {
    this.#suspended ??= getMeta(sql, "tenant_suspended") !== undefined;
    if (this.#suspended) throw new VaultError("tenant_suspended", "this tenant is suspended by the vault's operator");
  }

  /** Drops the cached status; the next check reads storage. */
  forget(): void {
    this.#suspended = undefined;
  }
}
