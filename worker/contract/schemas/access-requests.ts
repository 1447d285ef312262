import { z } from "zod";
import { ApproversSchema } from "./acl";
import { AccessRequestIdSchema, IdentitySchema, TimestampSchema } from "./common";
import { AgentSchema } from "./leases";

/**
 * Access requests (just-in-time access, README "Approvals"): a lease request that an `approve`
 * ACL rule holds until someone it names approves. One approval yields exactly one lease, collected
 * by the requester.
 */

export { AccessRequestIdSchema };

/** How long a request waits for a decision, and then for collection once approved. */
export const ACCESS_REQUEST_TTL_SECONDS = 15 * 60;
/** Pending requests one identity may have at once: flooding approvers' queue is an attack. */
export const MAX_PENDING_PER_IDENTITY = 10;
/** Pending requests a tenant may have at once. */
export const MAX_PENDING_PER_TENANT = 200;
/** Longest reason an approver may give for a denial or approval. */
export const ACCESS_REASON_MAX = 500;

/** Where a request stands. `collected`: its one lease was issued. */
export const AccessRequestStatusSchema = z.enum(["pending", "approved", "denied", "expired", "collected"]);

/** An access request as the API shows it. Never a value. */
export const AccessRequestSchema = z.object({
  id: AccessRequestIdSchema,
  credential_id: z.string(),
  credential_name: z.string(),
  identity: IdentitySchema,
  token_id: z.string(),
  agent: AgentSchema.nullable(),
  purpose: z.string().nullable(),
  /** The TTL (seconds) the lease was asked for; the collected lease never lives longer. */
  ttl: z.number().int(),
  status: AccessRequestStatusSchema,
  approvers: ApproversSchema,
  created_at: TimestampSchema,
  /** When a pending request lapses; once approved, when the approval lapses uncollected. */
  expires_at: TimestampSchema,
  decided_at: TimestampSchema.nullable(),
  decided_by: z.string().nullable(),
  reason: z.string().nullable(),
  lease_id: z.string().nullable(),
});

/** The 202 answer of POST /v1/leases (and of collecting a request not yet approved): no value, no lease. */
export const PendingLeaseSchema = z.object({ request: AccessRequestSchema });

/** GET /v1/access-requests query: `queue` (pending requests the caller may approve, the default) or `mine`. */
export const ListAccessRequestsQuerySchema = z.strictObject({
  view: z.enum(["queue", "mine"]).default("queue"),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});

/** A list of access requests, newest first. */
export const AccessRequestListSchema = z.object({ items: z.array(AccessRequestSchema) });

/** POST /v1/access-requests/{id}/approve body. */
export const ApproveAccessRequestSchema = z.strictObject({
  reason: z.string().min(1).max(ACCESS_REASON_MAX).optional(),
});

/** POST /v1/access-requests/{id}/deny body: a reason is required, so the requester learns why. */
export const DenyAccessRequestSchema = z.strictObject({ reason: z.string().min(1).max(ACCESS_REASON_MAX) });

export type AccessRequest = z.output<typeof AccessRequestSchema>;
export type PendingLease = z.output<typeof PendingLeaseSchema>;
export type ListAccessRequestsQuery = z.output<typeof ListAccessRequestsQuerySchema>;
