import { z } from "zod";
import { DurationSchema, RoleSchema } from "./common";

/** POST /v1/sessions: exchange an API token for a short-lived session token. */
export const CreateSessionSchema = z.strictObject({
  ttl: DurationSchema.optional(),
  /** A lower role than the API token's, to hand a session less authority. */
  role: RoleSchema.optional(),
  name: z.string().min(1).max(128).optional(),
});

export type CreateSessionInput = z.output<typeof CreateSessionSchema>;
