import { evaluateAcl, teamsIn, type AclDecision } from "../access/acl";
import { VaultError } from "../../worker/contract/errors";
import type { AclPermission } from "../../worker/contract/schemas/acl";
import type { Team } from "../../worker/contract/schemas/teams";
import { record } from "../audit/record";
import { deleteTeam, listTeams, putTeam, teamsNamed } from "../storage/use";
import { iso, type Actor, type VaultContext } from "../vault-context";
import { aclOf } from "./acl";
import { requireCredential } from "./credentials";

/** GET /v1/teams */
export function listTeamViews(ctx: VaultContext): { items: Team[] } {
  return {
    items: listTeams(ctx.sql).map((t) => ({ name: t.name, members: [...t.members], updated_at: iso(t.updatedAt) })),
  };
}

/** PUT /v1/teams/{name}: creates or replaces a team; the audit entry carries the members before and after. */
export function setTeam(ctx: VaultContext, actor: Actor, name: string, members: string[]): Team {
  const now = ctx.now();
  ctx.storage.transactionSync(() => {
    const before = listTeams(ctx.sql).find((t) => t.name === name);
    putTeam(ctx.sql, name, members, now);
    record(ctx, actor, {
      type: "team.updated",
      target: null,
      details: { team: name, before: before ? [...before.members] : null, after: members },
    });
  });
  return { name, members, updated_at: iso(now) };
}

/** DELETE /v1/teams/{name}: ACL rules naming it then match nobody. */
export function removeTeam(ctx: VaultContext, actor: Actor, name: string): null {
  ctx.storage.transactionSync(() => {
    const before = listTeams(ctx.sql).find((t) => t.name === name);
    if (!before || !deleteTeam(ctx.sql, name)) throw new VaultError("not_found", "no such team");
    record(ctx, actor, { type: "team.deleted", target: null, details: { team: name, before: [...before.members] } });
  });
  return null;
}

/** The ACL decision for `identity` and `permission` on a credential row, with the tenant's teams. */
export function decideAcl(
  ctx: VaultContext,
  row: { acl: string },
  identity: string,
  permission: AclPermission,
): AclDecision {
  const acl = aclOf(row);
  return evaluateAcl(acl, identity, permission, teamsNamed(ctx.sql, teamsIn(acl)));
}

/** GET /v1/credentials/{ref}/acl/check: what the ACL answers for an identity, for people writing policies. */
export async function checkAcl(
  ctx: VaultContext,
  ref: string,
  identity: string,
  permission: AclPermission,
): Promise<AclDecision> {
  return decideAcl(ctx, await requireCredential(ctx, ref), identity, permission);
}
