import { AclSchema, type Acl } from "../../worker/contract/schemas/acl";
import { credentialTarget } from "../audit/record";
import { commitD1Change } from "../outbox/outbox";
import type { Actor, VaultContext } from "../vault-context";
import { requireCredential, writingCredential } from "./credentials";

/** The stored ACL of a credential row, validated on the way out of storage. */
export function aclOf(row: { acl: string }): Acl {
  // Parsed once per row object: the lease path's cached row is the same object lease after lease
  // (issue 16); a changed ACL arrives as a new row, and the text of a row never changes.
  let acl = PARSED.get(row);
  if (acl === undefined || acl.text !== row.acl)
    PARSED.set(row, (acl = { text: row.acl, acl: AclSchema.parse(JSON.parse(row.acl)) }));
  return acl.acl;
}

const PARSED = new WeakMap<object, { text: string; acl: Acl }>();

/** GET /v1/credentials/{ref}/acl */
export async function getAcl(ctx: VaultContext, ref: string): Promise<Acl> {
  return aclOf(await requireCredential(ctx, ref));
}

/** PUT /v1/credentials/{ref}/acl: replaces the policy; the audit entry carries before and after. */
export async function setAcl(ctx: VaultContext, actor: Actor, ref: string, acl: Acl): Promise<Acl> {
  return writingCredential(ctx, ref, async (row) => {
    const before = aclOf(row);
    const patch = { acl: JSON.stringify(acl), updatedAt: ctx.now() };
    await commitD1Change(
      ctx,
      actor,
      [{ type: "acl.updated", target: credentialTarget(row.id), details: { name: row.name, before, after: acl } }],
      { credentialId: row.id, name: row.name, mutation: { kind: "update", expectedUpdatedAt: row.updatedAt, patch } },
    );
    return acl;
  });
}
