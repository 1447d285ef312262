import { z } from "zod";
import { CredentialIdSchema, DurationSchema, IdentitySchema, LimitSchema, TimestampSchema } from "./common";

/** The largest credential value, in UTF-8 bytes. */
export const MAX_VALUE_BYTES = 65_536;

/**
 * Credential names: path-like (`prod/db-url`, `openai.api-key`), 1–128 characters, starting
 * with a letter or digit, no empty or dot-only segments, so names are unambiguous in URLs,
 * environment mappings and ACL globs.
 */
export const CredentialNameSchema = z
  .string()
  .min(1, "must not be empty")
  .max(128, "must be at most 128 characters")
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/,
    "may contain letters, digits, '.', '_', '-' and '/'-separated segments that start with a letter or digit",
  )
  // A reference starting with cred_ is read as an id, so such a name could never be found by name.
  .refine((n) => !n.startsWith("cred_"), "must not start with cred_ (reserved for credential ids)");

/** A credential referenced by id or by name. */
export const CredentialRefSchema = z.union([CredentialIdSchema, CredentialNameSchema]);

const TagSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_.:=-]{0,63}$/, "tags are 1-64 of a-z 0-9 _ . : = - starting with a letter or digit");
const TagsSchema = z
  .array(TagSchema)
  .max(32, "at most 32 tags")
  .refine((t) => new Set(t).size === t.length, "tags must be unique");
const DescriptionSchema = z.string().max(1024, "must be at most 1024 characters");

/** Retention: how many of a credential's newest versions are kept; older ones are deleted with their DEKs. */
export const KeepVersionsSchema = z
  .number()
  .int("must be a whole number")
  .min(1, "must keep at least 1 version")
  .max(100, "must be at most 100");

/** A credential value: any string of at most 64 KiB of UTF-8. */
export const CredentialValueSchema = z
  .string()
  .min(1, "must not be empty")
  .refine(
    (v) => new TextEncoder().encode(v).byteLength <= MAX_VALUE_BYTES,
    `must be at most ${MAX_VALUE_BYTES} bytes of UTF-8`,
  );

/** POST /v1/credentials */
export const CreateCredentialSchema = z.strictObject({
  name: CredentialNameSchema,
  value: CredentialValueSchema,
  description: DescriptionSchema.default(""),
  tags: TagsSchema.default([]),
  default_ttl: DurationSchema.optional(),
  max_ttl: DurationSchema.optional(),
  keep_versions: KeepVersionsSchema.optional(),
});

/** PATCH /v1/credentials/{ref}: metadata only; the value changes through rotate. */
export const UpdateCredentialSchema = z
  .strictObject({
    description: DescriptionSchema.optional(),
    tags: TagsSchema.optional(),
    default_ttl: DurationSchema.optional(),
    max_ttl: DurationSchema.optional(),
    keep_versions: KeepVersionsSchema.optional(),
  })
  .refine((u) => Object.values(u).some((v) => v !== undefined), "give at least one field to change");

/** POST /v1/credentials/{ref}/rotate */
export const RotateCredentialSchema = z.strictObject({ value: CredentialValueSchema });

/** GET /v1/credentials query. */
export const ListCredentialsQuerySchema = z.strictObject({
  limit: LimitSchema,
  cursor: CredentialNameSchema.optional(),
  prefix: z.string().max(128).optional(),
  tag: TagSchema.optional(),
});

/** Credential metadata: everything but the value, which only a lease returns. */
export const CredentialSchema = z.object({
  id: CredentialIdSchema,
  name: CredentialNameSchema,
  description: z.string(),
  tags: z.array(z.string()),
  default_ttl: z.number().int(),
  max_ttl: z.number().int(),
  current_version: z.number().int(),
  /** How many of the newest versions are kept (retention). Optional so SDKs still read servers that predate it. */
  keep_versions: z.number().int().optional(),
  created_at: TimestampSchema,
  updated_at: TimestampSchema,
  created_by: IdentitySchema,
});

/** A page of credentials. */
export const CredentialPageSchema = z.object({ items: z.array(CredentialSchema), next_cursor: z.string().nullable() });

/** One stored version of a credential's value (metadata only). */
export const CredentialVersionSchema = z.object({
  version: z.number().int(),
  created_at: TimestampSchema,
  created_by: IdentitySchema,
  kek_version: z.number().int(),
});

/** The versions of a credential. */
export const CredentialVersionListSchema = z.object({ items: z.array(CredentialVersionSchema) });

export type CreateCredentialInput = z.output<typeof CreateCredentialSchema>;
export type UpdateCredentialInput = z.output<typeof UpdateCredentialSchema>;
export type ListCredentialsQuery = z.output<typeof ListCredentialsQuerySchema>;
export type Credential = z.output<typeof CredentialSchema>;
export type CredentialPage = z.output<typeof CredentialPageSchema>;
export type CredentialVersion = z.output<typeof CredentialVersionSchema>;
