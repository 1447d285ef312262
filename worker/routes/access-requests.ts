import { z } from "zod";
import {
  AccessRequestIdSchema,
  AccessRequestListSchema,
  AccessRequestSchema,
  ApproveAccessRequestSchema,
  DenyAccessRequestSchema,
  ListAccessRequestsQuerySchema,
  PendingLeaseSchema,
} from "../contract/schemas/access-requests";
import { LeaseWithValueSchema } from "../contract/schemas/leases";
import { vaultRouter, type VaultRoute } from "./define";

const ById = z.object({ id: AccessRequestIdSchema });
const tag = "access-requests";

/** A lease request an approve rule holds answers 202 with its access request: no value, no lease. */
export const PENDING_LEASE = { status: 202 as const, response: PendingLeaseSchema, is: (value: unknown) => typeof value === "object" && value !== null && "request" in value };

/** Access requests (just-in-time access, README "Approvals"): the approvers' queue, decisions, and the requester's one lease. */
export const accessRequestRoutes: VaultRoute[] = [
  {
    method: "get", path: "/v1/access-requests", tag, summary: "List access requests: pending ones the caller may approve (view=queue) or the caller's own (view=mine)",
    operation: "access_requests.list", query: ListAccessRequestsQuerySchema, response: AccessRequestListSchema, status: 200,
    rpc: (v, call) => v.listAccessRequests(call),
  },
  {
    method: "get", path: "/v1/access-requests/:id", tag, summary: "Get an access request (its requester, managers, and those who may approve it)",
    operation: "access_requests.get", params: ById, response: AccessRequestSchema, status: 200,
    rpc: (v, call) => v.getAccessRequest(call),
  },
  {
    method: "post", path: "/v1/access-requests/:id/approve", tag, summary: "Approve a pending access request (an approver the rule names; never the requester)",
    operation: "access_requests.approve", params: ById, body: ApproveAccessRequestSchema, response: AccessRequestSchema, status: 200,
    rpc: (v, call) => v.approveAccessRequest(call),
  },
  {
    method: "post", path: "/v1/access-requests/:id/deny", tag, summary: "Deny a pending access request, with a reason",
    operation: "access_requests.deny", params: ById, body: DenyAccessRequestSchema, response: AccessRequestSchema, status: 200,
    rpc: (v, call) => v.denyAccessRequest(call),
  },
  {
    method: "post", path: "/v1/access-requests/:id/lease", tag, summary: "Collect the one lease of an approved access request (202 while still pending)",
    operation: "access_requests.collect", params: ById, response: LeaseWithValueSchema, status: 201, accepted: PENDING_LEASE,
    rpc: (v, call) => v.collectAccessRequest(call),
  },
];

/** The access requests router. */
export const accessRequests = vaultRouter(accessRequestRoutes);
