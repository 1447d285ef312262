import { z } from "zod";
import { LeaseIdSchema } from "../schemas/common";
import {
  CreateLeaseSchema,
  LeasePageSchema,
  LeaseSchema,
  LeaseWithValueSchema,
  ListLeasesQuerySchema,
  RenewLeaseSchema,
  RevokeMatchingResultSchema,
  RevokeMatchingSchema,
} from "../schemas/leases";
import { PENDING_LEASE } from "./access-requests";
import type { OperationTable } from "./spec";

const ById = z.object({ id: LeaseIdSchema });
const tag = "leases";

/** Leases: the only way to a credential value, each attributed and time-limited. */
export const leaseOperations = {
  "leases.create": {
    role: "user",
    method: "post",
    path: "/v1/leases",
    tag,
    summary:
      "Lease a credential: returns the lease and the value (the only endpoint that returns a value); 202 with an access request when an approve rule holds it",
    body: CreateLeaseSchema,
    response: LeaseWithValueSchema,
    status: 201,
    accepted: PENDING_LEASE,
  },
  "leases.list": {
    role: "viewer",
    method: "get",
    path: "/v1/leases",
    tag,
    summary: "List leases (viewers and users see their own identity's, managers all)",
    query: ListLeasesQuerySchema,
    response: LeasePageSchema,
    status: 200,
  },
  "leases.revoke_matching": {
    role: "manager",
    method: "post",
    path: "/v1/leases/revoke",
    tag,
    summary: "Break glass: revoke every active lease matching a filter",
    body: RevokeMatchingSchema,
    response: RevokeMatchingResultSchema,
    status: 200,
  },
  "leases.get": {
    role: "viewer",
    method: "get",
    path: "/v1/leases/:id",
    tag,
    summary: "Get a lease",
    params: ById,
    response: LeaseSchema,
    status: 200,
  },
  "leases.renew": {
    role: "user",
    method: "post",
    path: "/v1/leases/:id/renew",
    tag,
    summary: "Renew a lease, never past its maximum lifetime",
    params: ById,
    body: RenewLeaseSchema,
    response: LeaseSchema,
    status: 200,
  },
  "leases.revoke": {
    role: "user",
    method: "delete",
    path: "/v1/leases/:id",
    tag,
    summary: "Revoke a lease now",
    params: ById,
    response: LeaseSchema,
    status: 200,
  },
} satisfies OperationTable;
