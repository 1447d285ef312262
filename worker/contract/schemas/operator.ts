import { z } from "zod";
import { ID_PATTERNS } from "../../core/ids";
import { TENANT_STATUSES } from "../../core/db/schema";
import { OPERATOR_NAME } from "../../core/operator/tokens";
import { DurationSchema, TimestampSchema } from "./common";

/**
 * What crosses the operator plane's boundaries (issue 13 §3): the `/v1/operator/*` requests, and
 * the actions the OperatorPlane object sends each tenant's object.
 */

/** A tenant id as the registry and the tokens carry it. */
export const TenantIdSchema = z.string().regex(ID_PATTERNS.tenant, "must be a tenant id (20 lowercase hex)");

/** POST /v1/operator/tokens: a named operator token with a lifetime (at most 90 days). */
export const MintOperatorTokenSchema = z.strictObject({
  name: z
    .string()
    .regex(OPERATOR_NAME, "must be 1-63 of a-z 0-9 . _ - starting with a letter or digit")
    .refine((n) => n !== "root", "root is reserved"),
  expires_in: DurationSchema.pipe(z.number().max(90 * 86_400, "must be at most 90 days")),
});

/** A named operator token as listed; the token itself is shown only when minted. */
export const OperatorTokenSchema = z.object({
  id: z.string(),
  name: z.string(),
  created_at: TimestampSchema,
  created_by: z.string(),
  expires_at: TimestampSchema,
  revoked_at: TimestampSchema.nullable(),
});

/** The answer to minting: the listed fields and the token, once. */
export const MintedOperatorTokenSchema = OperatorTokenSchema.extend({ token: z.string() });

/** `:id` of a named operator token. */
export const OperatorTokenIdParamsSchema = z.strictObject({
  id: z.string().regex(/^[0-9a-f]{20}$/, "must be an operator token id (20 hex)"),
});

/** `:id` of a tenant. */
export const TenantIdParamsSchema = z.strictObject({ id: TenantIdSchema });

/** POST /v1/operator/tenants/:id/suspend and /reactivate: why, recorded in the tenant's chain. */
export const SuspensionRequestSchema = z.strictObject({ reason: z.string().min(1).max(256) });

/** GET /v1/operator/tenants query. */
export const TenantListQuerySchema = z.strictObject({
  status: z.enum(TENANT_STATUSES).optional(),
  after: TenantIdSchema.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

/** GET /v1/operator/tenants */
export const TenantListSchema = z.object({
  items: z.array(
    z.object({ id: z.string(), name: z.string(), created_at: TimestampSchema, status: z.enum(TENANT_STATUSES) }),
  ),
  next_after: z.string().nullable(),
});

/** Which tenants a fleet job acts on: every registered tenant that is active or suspended, or a list (1-1000). */
export const TenantSelectionSchema = z.union([
  z.literal("all"),
  z
    .array(TenantIdSchema)
    .min(1)
    .max(1000)
    .refine((ids) => new Set(ids).size === ids.length, "tenant ids must not repeat"),
]);

const window = { from: TimestampSchema, to: TimestampSchema };
const ordered = (w: { from?: string; to?: string }) =>
  w.from === undefined || w.to === undefined || Date.parse(w.from) <= Date.parse(w.to);
const ORDER = { message: "from must not be after to" };

/**
 * One action on one tenant, sent by the OperatorPlane object to the tenant's object with a proof
 * (worker/core/operator/proof.ts) that names it.
 */
export const TenantActionSchema = z.discriminatedUnion("action", [
  z
    .strictObject({
      action: z.literal("verify_audit"),
      from: TimestampSchema.optional(),
      to: TimestampSchema.optional(),
    })
    .refine(ordered, ORDER),
  z.strictObject({ action: z.literal("rotate_kek") }),
  z.strictObject({ action: z.literal("revoke_leases"), reason: z.string().min(1).max(256) }),
  z.strictObject({ action: z.literal("impact"), ...window }).refine(ordered, ORDER),
  z.strictObject({ action: z.literal("rewrap_root") }),
  z.strictObject({ action: z.enum(["suspend", "reactivate"]), reason: z.string().min(1).max(256) }),
]);

/** A tenant action, parsed. */
export type TenantAction = z.output<typeof TenantActionSchema>;

/** POST /v1/operator/jobs: a fleet action over the selected tenants. */
export const StartJobSchema = z.discriminatedUnion("kind", [
  z
    .strictObject({
      kind: z.literal("verify_audit"),
      tenants: TenantSelectionSchema,
      from: TimestampSchema.optional(),
      to: TimestampSchema.optional(),
    })
    .refine(ordered, ORDER),
  z.strictObject({ kind: z.literal("rotate_kek"), tenants: TenantSelectionSchema }),
  // Revoking every lease of the whole fleet at once is never the incident's answer: name tenants.
  z.strictObject({
    kind: z.literal("revoke_leases"),
    tenants: z.array(TenantIdSchema).min(1).max(1000),
    reason: z.string().min(1).max(256),
  }),
  z.strictObject({ kind: z.literal("impact"), tenants: TenantSelectionSchema, ...window }).refine(ordered, ORDER),
  z.strictObject({ kind: z.literal("rewrap_root"), tenants: TenantSelectionSchema }),
  // Suspension names its tenants, as revocation does: suspending the whole fleet is an outage.
  z.strictObject({
    kind: z.enum(["suspend", "reactivate"]),
    tenants: z.array(TenantIdSchema).min(1).max(1000),
    reason: z.string().min(1).max(256),
  }),
]);

/** A job request, parsed. */
export type StartJob = z.output<typeof StartJobSchema>;

/** The kinds of fleet job. */
export type JobKind = StartJob["kind"];

/** `:id` of a job. */
export const JobIdParamsSchema = z.strictObject({
  id: z.string().regex(/^job_[0-9a-f]{24}$/, "must be a job id (job_ + 24 hex)"),
});

/** GET /v1/operator/jobs/:id query: page through the per-tenant results. */
export const JobQuerySchema = z.strictObject({
  after: TenantIdSchema.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

/** Per-tenant state of a job. */
export const JobTenantSchema = z.object({
  tenant_id: z.string(),
  state: z.enum(["pending", "done", "failed"]),
  attempts: z.number().int(),
  result: z.unknown().nullable(),
  error: z.string().nullable(),
});

/** A job and its progress. */
export const JobSchema = z.object({
  id: z.string(),
  kind: z.string(),
  params: z.unknown(),
  operator: z.string(),
  state: z.enum(["running", "done"]),
  created_at: TimestampSchema,
  finished_at: TimestampSchema.nullable(),
  progress: z.object({
    total: z.number().int(),
    pending: z.number().int(),
    done: z.number().int(),
    failed: z.number().int(),
  }),
  tenants: z.array(JobTenantSchema),
  next_after: z.string().nullable(),
});

/** GET /v1/operator/log query. */
export const OperatorLogQuerySchema = z.strictObject({
  after: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

/** An operator proof as it crosses RPC; its MAC is checked in worker/core/operator/proof.ts. */
export const OperatorProofSchema = z.strictObject({
  payload: z.strictObject({
    v: z.literal(1),
    operator: z.string().regex(/^operator:[a-z0-9][a-z0-9._-]{0,62}$/),
    token_id: z.string().max(64),
    tenant_id: z.string().max(64),
    job_id: z.string().max(64),
    action: z.string().max(4096),
    issued_at: z.number().int(),
  }),
  mac: z.string().regex(/^[0-9a-f]{64}$/),
});
