import { z } from "zod";
import {
  AccessRequestIdSchema,
  DurationSchema,
  IdentityGlobSchema,
  IdentitySchema,
  LeaseIdSchema,
  TimestampSchema,
} from "./common";
import { CredentialRefSchema } from "./credentials";

const short = (max: number) => z.string().min(1).max(max);

/**
 * Who is acting for the identity, as the caller declares it (an AI agent, its model, session,
 * tool and host). Not authenticated: it attributes, it does not authorise.
 */
export const AgentSchema = z.strictObject({
  name: short(128).optional(),
  model: short(128).optional(),
  session: short(128).optional(),
  tool: short(128).optional(),
  host: short(256).optional(),
  client: short(128).optional(),
  client_version: short(64).optional(),
});

/** POST /v1/leases */
export const CreateLeaseSchema = z.strictObject({
  credential: CredentialRefSchema,
  ttl: DurationSchema.optional(),
  /** Grant the maximum instead of refusing a TTL over the cap. */
  clamp: z.boolean().default(false),
  purpose: short(256).optional(),
  agent: AgentSchema.optional(),
  /**
   * Collect the lease of this approved access request (the retry of a lease request an approve
   * rule held, README "Approvals"); while it is still pending the answer is 202 again.
   */
  request: AccessRequestIdSchema.optional(),
});

/** POST /v1/leases/{id}/renew */
export const RenewLeaseSchema = z.strictObject({ ttl: DurationSchema.optional() });

/** Lease states as the API shows them; "expired" includes leases past their deadline not yet swept. */
export const LeaseStateSchema = z.enum(["active", "expired", "revoked"]);

/** A lease: who holds which credential version until when. Never the value. */
export const LeaseSchema = z.object({
  id: LeaseIdSchema,
  credential_id: z.string(),
  credential_name: z.string(),
  version: z.number().int(),
  identity: IdentitySchema,
  token_id: z.string(),
  agent: AgentSchema.nullable(),
  purpose: z.string().nullable(),
  issued_at: TimestampSchema,
  expires_at: TimestampSchema,
  max_expires_at: TimestampSchema,
  state: LeaseStateSchema,
  ended_at: TimestampSchema.nullable(),
  revoked_by: z.string().nullable(),
});

/** The answer to POST /v1/leases: the only response in the API that carries a credential value. */
export const LeaseWithValueSchema = z.object({ lease: LeaseSchema, value: z.string() });

/** GET /v1/leases query. */
export const ListLeasesQuerySchema = z.strictObject({
  state: LeaseStateSchema.optional(),
  credential: CredentialRefSchema.optional(),
  identity: IdentitySchema.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z
    .string()
    .regex(/^\d{1,15}$/, "must be a cursor from a previous page")
    .optional(),
});

/** A page of leases. */
export const LeasePageSchema = z.object({ items: z.array(LeaseSchema), next_cursor: z.string().nullable() });

/** POST /v1/leases/revoke: break glass. At least one filter, or `all: true`. */
export const RevokeMatchingSchema = z
  .strictObject({
    credential: CredentialRefSchema.optional(),
    identity: IdentityGlobSchema.optional(),
    all: z.literal(true).optional(),
    reason: short(256).optional(),
  })
  .refine(
    (f) => f.all === true || f.credential !== undefined || f.identity !== undefined,
    "give credential, identity, or all: true",
  )
  .refine(
    (f) => !(f.all === true && (f.credential !== undefined || f.identity !== undefined)),
    "all: true takes no other filter",
  );

/** The answer to revoke-matching. */
export const RevokeMatchingResultSchema = z.object({ revoked: z.number().int() });

export type Agent = z.output<typeof AgentSchema>;
export type CreateLeaseInput = z.output<typeof CreateLeaseSchema>;
export type Lease = z.output<typeof LeaseSchema>;
export type LeaseWithValue = z.output<typeof LeaseWithValueSchema>;
export type ListLeasesQuery = z.output<typeof ListLeasesQuerySchema>;
export type LeasePage = z.output<typeof LeasePageSchema>;
export type RevokeMatchingInput = z.output<typeof RevokeMatchingSchema>;
