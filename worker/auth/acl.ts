import type { Acl } from "../schemas/acl";
import { globMatches } from "./glob";

/** Why a lease was allowed or refused by a credential's ACL. */
export type AclDecision = { allowed: true; rule: number | null } | { allowed: false; rule: number | null };

/**
 * Evaluates a credential ACL for an identity (DESIGN.md "Credential ACL"):
 * 1. any matching `deny` rule refuses, wherever it stands (deny wins);
 * 2. otherwise, if the ACL has at least one `allow` rule, the identity must match one;
 * 3. otherwise (no rules, or only deny rules none of which matched) it is allowed.
 * `rule` is the index of the deciding rule, or null when no rule decided. Role checks (user or
 * above to lease) happen before this and are not relaxed by it.
 */
export function evaluateAcl(acl: Acl, identity: string): AclDecision {
  const deny = acl.rules.findIndex((r) => r.effect === "deny" && globMatches(r.identity, identity));
  if (deny !== -1) return { allowed: false, rule: deny };
  if (!acl.rules.some((r) => r.effect === "allow")) return { allowed: true, rule: null };
  const allow = acl.rules.findIndex((r) => r.effect === "allow" && globMatches(r.identity, identity));
  return allow === -1 ? { allowed: false, rule: null } : { allowed: true, rule: allow };
}
