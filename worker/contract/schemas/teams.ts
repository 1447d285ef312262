import { z } from "zod";
import { IdentityGlobSchema } from "./common";

/** A team name, as it appears after `team:` in an ACL rule. */
export const TeamNameSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9._-]*$/, "must be lower-case letters, digits, '.', '_' or '-'");

/** PUT /v1/teams/{name} body: the identity globs (worker/core/auth/glob.ts) that are members. */
export const SetTeamSchema = z.strictObject({ members: z.array(IdentityGlobSchema).max(200, "at most 200 members") });

/** A team as the API shows it. */
export const TeamSchema = z.object({ name: TeamNameSchema, members: z.array(z.string()), updated_at: z.string() });

/** GET /v1/teams answer. */
export const TeamListSchema = z.object({ items: z.array(TeamSchema) });

export type Team = z.output<typeof TeamSchema>;
/** A team as the ACL evaluator needs it. */
export interface TeamMembers {
  name: string;
  members: readonly string[];
}
