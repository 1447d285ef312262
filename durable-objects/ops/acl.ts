import { AclSchema, type Acl } from "../../worker/schemas/acl";
import * as store from "../../worker/db/credentials";
import { credentialTarget, recordD1Change } from "../audit/record";
import type { Actor, VaultContext } from "../vault-context";
import { requireCredential } from "./credentials";

/** The stored ACL of a credential row, validated on the way out of storage. */
export function aclOf(row: { acl: string }): Acl {
  return AclSchema.parse(JSON.parse(row.acl));
}

/** GET /v1/credentials/{ref}/acl */
export async function getAcl(ctx: VaultContext, ref: string): Promise<Acl> {
  return aclOf(await requireCredential(ctx, ref));
}

/** PUT /v1/credentials/{ref}/acl: replaces the policy; the audit entry carries before and after. */
export async function setAcl(ctx: VaultContext, actor: Actor, ref: string, acl: Acl): Promise<Acl> {
  const row = await requireCredential(ctx, ref);
  const before = aclOf(row);
  await store.updateCredential(ctx.db, row.id, { acl: JSON.stringify(acl), updatedAt: ctx.now() });
  await recordD1Change(ctx, actor, { type: "acl.updated", target: credentialTarget(row.id), details: { name: row.name, before, after: acl } }, () =>
    store.updateCredential(ctx.db, row.id, { acl: row.acl, updatedAt: row.updatedAt }),
  );
  return acl;
}
