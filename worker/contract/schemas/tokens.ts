import { z } from "zod";
import { DurationSchema, IdentitySchema, LimitSchema, RoleSchema, TimestampSchema, TokenIdSchema } from "./common";

/** POST /v1/tokens */
export const CreateTokenSchema = z.strictObject({
  name: z.string().min(1, "must not be empty").max(128, "must be at most 128 characters"),
  role: RoleSchema,
  identity: IdentitySchema,
  expires_in: DurationSchema.optional(),
});

/** Token metadata; never the token or its hash. */
export const TokenSchema = z.object({
  id: TokenIdSchema,
  kind: z.enum(["api", "session"]),
  name: z.string(),
  role: RoleSchema,
  identity: IdentitySchema,
  created_at: TimestampSchema,
  created_by: z.string(),
  expires_at: TimestampSchema.nullable(),
  revoked_at: TimestampSchema.nullable(),
});

/** The answer to token creation: the only time the token itself is shown. */
export const CreatedTokenSchema = TokenSchema.extend({ token: z.string() });

/** GET /v1/tokens query. */
export const ListTokensQuerySchema = z.strictObject({
  limit: LimitSchema,
  cursor: TokenIdSchema.optional(),
  include_revoked: z
    .enum(["true", "false"])
    .default("false")
    .transform((v) => v === "true"),
});

/** A page of tokens. */
export const TokenPageSchema = z.object({ items: z.array(TokenSchema), next_cursor: z.string().nullable() });

/** GET /v1/whoami */
export const WhoamiSchema = z.object({
  tenant_id: z.string(),
  token_id: z.string(),
  kind: z.enum(["api", "session", "oidc", "webhook", "operator"]),
  identity: IdentitySchema,
  role: RoleSchema,
  expires_at: TimestampSchema.nullable(),
});

export type CreateTokenInput = z.output<typeof CreateTokenSchema>;
export type Token = z.output<typeof TokenSchema>;
export type CreatedToken = z.output<typeof CreatedTokenSchema>;
export type ListTokensQuery = z.output<typeof ListTokensQuerySchema>;
export type TokenPage = z.output<typeof TokenPageSchema>;
export type Whoami = z.output<typeof WhoamiSchema>;
