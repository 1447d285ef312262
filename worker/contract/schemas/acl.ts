import { z } from "zod";
import { IdentityGlobSchema, IdentitySchema } from "./common";
import { TeamNameSchema } from "./teams";

/** What an ACL rule governs: taking the value (`lease`) or having the vault call with it (`use`). */
export const AclPermissionSchema = z.enum(["lease", "use"]);

/**
 * Who may approve a request under an `approve` rule: a least role, a team, or both (then the
 * approver needs both). Checked against the approver's role and the team's members when they
 * approve, not when the request was made.
 */
export const ApproversSchema = z
  .strictObject({ role: z.enum(["manager", "admin"]).optional(), team: TeamNameSchema.optional() })
  .refine((a) => a.role !== undefined || a.team !== undefined, "approvers: give a role, a team, or both");

/**
 * One ACL rule: allow or deny identities matching a glob (worker/core/auth/glob.ts), or the members of
 * a team (`team:<name>`), for the permissions listed (absent: both, so rules written before
 * permissions existed keep their meaning). `approve` lets a matching identity lease only once an
 * approver named by `approvers` has approved one request (README "Approvals"); the proxy (`use`)
 * has no approval flow, so for `use` an approve rule refuses like a deny.
 */
export const AclRuleSchema = z
  .strictObject({
    effect: z.enum(["allow", "deny", "approve"]),
    identity: IdentityGlobSchema.refine(
      (p) => !p.startsWith("team:") || /^team:[a-z0-9][a-z0-9._-]{0,63}$/.test(p),
      "a team principal is team:<name> with no wildcard",
    ),
    permissions: z.array(AclPermissionSchema).min(1).max(2).optional(),
    approvers: ApproversSchema.optional(),
  })
  .refine((r) => (r.effect === "approve") === (r.approvers !== undefined), {
    message: "approvers: required on an approve rule, and only there",
    path: ["approvers"],
  });

/**
 * A credential's access policy. `rules` are evaluated by durable-objects/access/acl.ts (deny wins; with no
 * allow rule any identity not denied may lease). `agent_visible` lets the MCP server reveal the
 * value to a model when it was also started with --allow-reveal.
 */
export const AclSchema = z.strictObject({
  rules: z.array(AclRuleSchema).max(100, "at most 100 rules"),
  agent_visible: z.boolean().default(false),
});

/** PUT /v1/credentials/{ref}/acl body and GET answer. */
export type Acl = z.output<typeof AclSchema>;
export type AclRule = z.output<typeof AclRuleSchema>;
export type AclPermission = z.output<typeof AclPermissionSchema>;
export type Approvers = z.output<typeof ApproversSchema>;

/** The policy of a credential that never had one set. */
export const DEFAULT_ACL: Acl = { rules: [], agent_visible: false };

/** GET /v1/credentials/{ref}/acl/check query. */
export const AclCheckQuerySchema = z.strictObject({
  identity: IdentitySchema,
  permission: AclPermissionSchema.default("lease"),
});

/**
 * GET /v1/credentials/{ref}/acl/check answer: the decision, the deciding rule's index and the team it
 * named; `approvers` only when the deciding rule is an approve rule (then `allowed` is false: a
 * lease needs an approved request first).
 */
export const AclCheckSchema = z.object({
  allowed: z.boolean(),
  rule: z.number().int().nullable(),
  team: z.string().nullable(),
  approvers: ApproversSchema.optional(),
});
