import { z } from "zod";
import { LeaseIdSchema } from "../contract/schemas/common";
import { CreateLeaseSchema, LeasePageSchema, LeaseSchema, LeaseWithValueSchema, ListLeasesQuerySchema, RenewLeaseSchema, RevokeMatchingResultSchema, RevokeMatchingSchema } from "../contract/schemas/leases";
import { PENDING_LEASE } from "./access-requests";
import { vaultRouter, type VaultRoute } from "./define";

const ById = z.object({ id: LeaseIdSchema });
const tag = "leases";

/** Leases: the only way to a credential value, each attributed and time-limited. */
export const leaseRoutes: VaultRoute[] = [
  {
    method: "post", path: "/v1/leases", tag, summary: "Lease a credential: returns the lease and the value (the only endpoint that returns a value); 202 with an access request when an approve rule holds it",
    operation: "leases.create", body: CreateLeaseSchema, response: LeaseWithValueSchema, status: 201, accepted: PENDING_LEASE,
    rpc: (v, call) => v.createLease(call),
  },
  {
    method: "get", path: "/v1/leases", tag, summary: "List leases (viewers and users see their own identity's, managers all)",
    operation: "leases.list", query: ListLeasesQuerySchema, response: LeasePageSchema, status: 200,
    rpc: (v, call) => v.listLeases(call),
  },
  {
    method: "post", path: "/v1/leases/revoke", tag, summary: "Break glass: revoke every active lease matching a filter",
    operation: "leases.revoke_matching", body: RevokeMatchingSchema, response: RevokeMatchingResultSchema, status: 200,
    rpc: (v, call) => v.revokeMatchingLeases(call),
  },
  {
    method: "get", path: "/v1/leases/:id", tag, summary: "Get a lease",
    operation: "leases.get", params: ById, response: LeaseSchema, status: 200,
    rpc: (v, call) => v.getLease(call),
  },
  {
    method: "post", path: "/v1/leases/:id/renew", tag, summary: "Renew a lease, never past its maximum lifetime",
    operation: "leases.renew", params: ById, body: RenewLeaseSchema, response: LeaseSchema, status: 200,
    rpc: (v, call) => v.renewLease(call),
  },
  {
    method: "delete", path: "/v1/leases/:id", tag, summary: "Revoke a lease now",
    operation: "leases.revoke", params: ById, response: LeaseSchema, status: 200,
    rpc: (v, call) => v.revokeLease(call),
  },
];

/** The leases router. */
export const leases = vaultRouter(leaseRoutes);
