import { z } from "zod";
import { IdentitySchema, TimestampSchema } from "./common";
import { CreatedTokenSchema } from "./tokens";

/** POST /v1/bootstrap: creates a tenant and its first admin token. */
export const BootstrapSchema = z.strictObject({
  tenant_name: z.string().min(1, "must not be empty").max(128, "must be at most 128 characters"),
  admin_identity: IdentitySchema.default("user:admin"),
});

/** The answer to bootstrap. */
export const BootstrapResultSchema = z.object({
  tenant: z.object({ id: z.string(), name: z.string(), created_at: TimestampSchema }),
  admin_token: CreatedTokenSchema,
});

export type BootstrapInput = z.output<typeof BootstrapSchema>;
export type BootstrapResult = z.output<typeof BootstrapResultSchema>;
