import { z } from "zod";
import { IdentityGlobSchema } from "./common";

/** One ACL rule: allow or deny identities matching a glob (worker/auth/glob.ts). */
export const AclRuleSchema = z.strictObject({ effect: z.enum(["allow", "deny"]), identity: IdentityGlobSchema });

/**
 * A credential's access policy. `rules` are evaluated by worker/auth/acl.ts (deny wins; with no
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

/** The policy of a credential that never had one set. */
export const DEFAULT_ACL: Acl = { rules: [], agent_visible: false };
