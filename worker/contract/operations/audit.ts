import { AuditPageSchema, AuditPublicKeySchema, AuditQuerySchema, AuditRangeSchema, AuditVerifyQuerySchema, AuditVerifySchema, CheckpointListSchema, CheckpointQuerySchema, ConsistencyProofQuerySchema, ConsistencyProofSchema, ImpactQuerySchema, ImpactReportSchema, InclusionProofQuerySchema, InclusionProofSchema } from "../schemas/audit";
import type { OperationTable } from "./spec";

const tag = "audit";

/** Audit log reads, proofs, export, the public key and the incident impact report. No operation modifies or deletes an entry. */
export const auditOperations = {
  "audit.query": {
    role: "manager", method: "get", path: "/v1/audit", tag, summary: "Query audit entries by seq range, time window, type, identity, credential",
    query: AuditQuerySchema, response: AuditPageSchema, status: 200,
  },
  "audit.verify": {
    role: "manager", method: "get", path: "/v1/audit/verify", tag, summary: "Recompute the chain over a range and check its signed checkpoints",
    query: AuditVerifyQuerySchema, response: AuditVerifySchema, status: 200,
  },
  "audit.checkpoints": {
    role: "manager", method: "get", path: "/v1/audit/checkpoints", tag, summary: "Signed checkpoints (C2SP signed notes)",
    query: CheckpointQuerySchema, response: CheckpointListSchema, status: 200,
  },
  "audit.inclusion_proof": {
    role: "manager", method: "get", path: "/v1/audit/proof/inclusion", tag, summary: "RFC 6962 inclusion proof of an entry in the audit Merkle tree",
    query: InclusionProofQuerySchema, response: InclusionProofSchema, status: 200,
  },
  "audit.consistency_proof": {
    role: "manager", method: "get", path: "/v1/audit/proof/consistency", tag, summary: "RFC 6962 consistency proof between two sizes of the audit Merkle tree",
    query: ConsistencyProofQuerySchema, response: ConsistencyProofSchema, status: 200,
  },
  "incident.impact": {
    role: "admin", method: "get", path: "/v1/incident/impact", tag: "incident", summary: "Which credentials were leased in a window, by whom, and how each lease ended",
    query: ImpactQuerySchema, response: ImpactReportSchema, status: 200,
  },
  // Custom: JSON Lines, streamed page by page from the tenant's vault (worker/routes/audit.ts).
  "audit.export": {
    role: "admin", method: "get", path: "/v1/audit/export", tag, summary: "Export entries and checkpoints as JSON Lines for offline verification",
    query: AuditRangeSchema, response: null, status: 200, custom: true,
  },
  // Public: anyone holding an export can verify it. Answered by the Worker from its configuration.
  "audit.public_key": {
    role: null, method: "get", path: "/v1/audit/public-key", tag, summary: "The Ed25519 key that signs checkpoints",
    response: AuditPublicKeySchema, status: 200, custom: true,
  },
} satisfies OperationTable;
