import type { Acl, AclPermission, AclRule, Approvers } from "../../worker/contract/schemas/acl";
import type { TeamMembers } from "../../worker/contract/schemas/teams";
import { globMatches } from "../../worker/core/auth/glob";

/**
 * Why a lease or use was allowed or refused: the deciding rule and, if it named a team, the team.
 * `approvers` is set when an approve rule decided: refused now, allowed once approved.
 */
export type AclDecision = { allowed: boolean; rule: number | null; team: string | null; approvers?: Approvers };

const TEAM = "team:";

/** The team a rule's principal names, if it does (`team:<name>`). */
function teamOf(rule: AclRule): string | null {
  return rule.identity.startsWith(TEAM) ? rule.identity.slice(TEAM.length) : null;
}

/** The distinct teams an ACL's rules name: the only ones its evaluation needs. */
export function teamsIn(acl: Acl): string[] {
  return [...new Set(acl.rules.map(teamOf).filter((t): t is string => t !== null))];
}

/** True when the rule's principal covers `identity`: its glob matches, or it names a team with a matching member glob. */
function principalMatches(rule: AclRule, identity: string, teams: readonly TeamMembers[]): boolean {
  const team = teamOf(rule);
  // A rule naming a team that does not exist matches nobody (it neither allows nor denies).
  if (team === null) return globMatches(rule.identity, identity);
  return teams.find((t) => t.name === team)?.members.some((m) => globMatches(m, identity)) ?? false;
}

/** True when the rule governs `permission` (a rule without `permissions` governs both). */
function governs(rule: AclRule, permission: AclPermission): boolean {
  return rule.permissions === undefined || rule.permissions.includes(permission);
}

/**
 * Evaluates a credential ACL for an identity and one permission (DESIGN.md "Credential ACL"):
 * 1. any matching `deny` rule governing the permission refuses, wherever it stands (deny wins, per permission);
 * 2. otherwise any matching `approve` rule governing it (the first) refuses with its approvers: a
 *    lease needs an approved access request, whatever allow rules also match (approve beats allow);
 * 3. otherwise, if the ACL has at least one `allow` rule (for any permission), the identity must
 *    match an `allow` rule governing this permission;
 * 4. otherwise (no rules, or only deny/approve rules none of which matched) it is allowed.
 * `rule` is the index of the deciding rule in the whole ACL, or null when no rule decided; `team`
 * is the team that rule named. Role checks happen before this and are not relaxed by it.
 */
export function evaluateAcl(
  acl: Acl,
  identity: string,
  permission: AclPermission = "lease",
  teams: readonly TeamMembers[] = [],
): AclDecision {
  const decide = (allowed: boolean, index: number): AclDecision =>
    index === -1 ? { allowed, rule: null, team: null } : { allowed, rule: index, team: teamOf(acl.rules[index]!) };
  const applies = (r: AclRule, effect: AclRule["effect"]) =>
    r.effect === effect && governs(r, permission) && principalMatches(r, identity, teams);
  const deny = acl.rules.findIndex((r) => applies(r, "deny"));
  if (deny !== -1) return decide(false, deny);
  const approve = acl.rules.findIndex((r) => applies(r, "approve"));
  if (approve !== -1) return { ...decide(false, approve), approvers: acl.rules[approve]!.approvers! };
  // Open only while the ACL has no allow rule at all: writing any allow rule (say, use-only for an
  // agent) closes every permission to identities no allow rule names for it.
  if (!acl.rules.some((r) => r.effect === "allow")) return decide(true, -1);
  const allow = acl.rules.findIndex((r) => applies(r, "allow"));
  return decide(allow !== -1, allow);
}
