import { insertTenant } from "../../worker/core/db/keks";
import { VaultError } from "../../worker/contract/errors";
import type { BootstrapInput, BootstrapResult } from "../../worker/contract/schemas/tenants";
import { getMeta, setMeta } from "../storage/meta";
import { putKekCopy } from "../storage/kek-copies";
import { iso, type VaultContext } from "../vault-context";
import { record } from "../audit/record";
import { insertToken } from "../storage/tokens";
import { mintApiToken } from "./tokens";

/**
 * Creates the tenant this Durable Object serves: its first KEK through the KMS (nothing is
 * written if the KMS fails), the D1 tenant and KEK rows, then its facts and first admin token
 * in the Durable Object's own storage.
 */
export async function bootstrapTenant(
  ctx: VaultContext,
  input: BootstrapInput,
  requestId: string,
): Promise<BootstrapResult> {
  if (getMeta(ctx.sql, "tenant_id") !== undefined) throw new VaultError("conflict", "tenant already exists");
  const now = ctx.now();
  const { plaintext, wrapped } = await ctx.kms.generateKek({ tenantId: ctx.tenantId, kekVersion: 1 });
  await insertTenant(ctx.db, input.tenant_name, wrapped, now);
  await ctx.keks.put(1, plaintext);
  const admin = await mintApiToken(
    ctx,
    { name: "bootstrap admin", role: "admin", identity: input.admin_identity },
    "bootstrap",
  );
  ctx.storage.transactionSync(() => {
    setMeta(ctx.sql, "tenant_id", ctx.tenantId);
    setMeta(ctx.sql, "tenant_name", input.tenant_name);
    setMeta(ctx.sql, "created_at", now);
    setMeta(ctx.sql, "kek_active_version", 1);
    putKekCopy(ctx.sql, 1, wrapped, now);
    insertToken(ctx.sql, admin.row);
    record(ctx, null, {
      type: "tenant.bootstrapped",
      target: { kind: "tenant", id: ctx.tenantId },
      requestId,
      details: {
        name: input.tenant_name,
        admin_token_id: admin.row.id,
        admin_identity: input.admin_identity,
        kek_version: 1,
      },
    });
  });
  return { tenant: { id: ctx.tenantId, name: input.tenant_name, created_at: iso(now) }, admin_token: admin.created };
}
