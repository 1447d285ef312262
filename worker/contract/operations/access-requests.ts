import { z } from "zod";
import {
  AccessRequestIdSchema,
  AccessRequestListSchema,
  AccessRequestSchema,
  ApproveAccessRequestSchema,
  DenyAccessRequestSchema,
  ListAccessRequestsQuerySchema,
  PendingLeaseSchema,
} from "../schemas/access-requests";
import { LeaseWithValueSchema } from "../schemas/leases";
import type { OperationTable } from "./spec";

const ById = z.object({ id: AccessRequestIdSchema });
const tag = "access-requests";

/** A lease request an approve rule holds answers 202 with its access request: no value, no lease. */
export const PENDING_LEASE = {
  status: 202 as const,
  response: PendingLeaseSchema,
  is: (value: unknown) => typeof value === "object" && value !== null && "request" in value,
};

/**
 * Access requests (just-in-time access, README "Approvals"): the approvers' queue, decisions, and
 * the requester's one lease. Approvers also need the role or team the approve rule names
 * (durable-objects/ops/access-requests.ts); the roles here are the least for anyone.
 */
export const accessRequestOperations = {
  "access_requests.list": {
    role: "viewer",
    method: "get",
    path: "/v1/access-requests",
    tag,
    summary: "List access requests: pending ones the caller may approve (view=queue) or the caller's own (view=mine)",
    query: ListAccessRequestsQuerySchema,
    response: AccessRequestListSchema,
    status: 200,
  },
  "access_requests.get": {
    role: "viewer",
    method: "get",
    path: "/v1/access-requests/:id",
    tag,
    summary: "Get an access request (its requester, managers, and those who may approve it)",
    params: ById,
    response: AccessRequestSchema,
    status: 200,
  },
  "access_requests.approve": {
    role: "user",
    method: "post",
    path: "/v1/access-requests/:id/approve",
    tag,
    summary: "Approve a pending access request (an approver the rule names; never the requester)",
    params: ById,
    body: ApproveAccessRequestSchema,
    response: AccessRequestSchema,
    status: 200,
  },
  "access_requests.deny": {
    role: "user",
    method: "post",
    path: "/v1/access-requests/:id/deny",
    tag,
    summary: "Deny a pending access request, with a reason",
    params: ById,
    body: DenyAccessRequestSchema,
    response: AccessRequestSchema,
    status: 200,
  },
  "access_requests.collect": {
    role: "user",
    method: "post",
    path: "/v1/access-requests/:id/lease",
    tag,
    summary: "Collect the one lease of an approved access request (202 while still pending)",
    params: ById,
    response: LeaseWithValueSchema,
    status: 201,
    accepted: PENDING_LEASE,
  },
} satisfies OperationTable;
