import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { auditPublicKey } from "../core/audit/signing-key";
import { bytesToBase64 } from "../core/crypto";
import { unwrapOutcome } from "../contract/rpc";
import { AuditPageSchema, AuditPublicKeySchema, AuditQuerySchema, AuditRangeSchema, AuditVerifyQuerySchema, AuditVerifySchema, CheckpointListSchema, CheckpointQuerySchema, ConsistencyProofQuerySchema, ConsistencyProofSchema, ImpactQuerySchema, ImpactReportSchema, InclusionProofQuerySchema, InclusionProofSchema, type ExportPage } from "../contract/schemas/audit";
import { bearer, readInputAsCaller, respond, vaultCall, vaultRouter, vaultStub, type RouteDef, type VaultRoute } from "./define";

const tag = "audit";
const EXPORT_PAGE = 1000;

/** Audit log reads and the incident impact report. No route modifies or deletes an entry. */
export const auditRoutes: VaultRoute[] = [
  {
    method: "get", path: "/v1/audit", tag, summary: "Query audit entries by seq range, time window, type, identity, credential",
    operation: "audit.query", query: AuditQuerySchema, response: AuditPageSchema, status: 200,
    rpc: (v, call) => v.queryAudit(call),
  },
  {
    method: "get", path: "/v1/audit/verify", tag, summary: "Recompute the chain over a range and check its signed checkpoints",
    operation: "audit.verify", query: AuditVerifyQuerySchema, response: AuditVerifySchema, status: 200,
    rpc: (v, call) => v.verifyAudit(call),
  },
  {
    method: "get", path: "/v1/audit/checkpoints", tag, summary: "Signed checkpoints (C2SP signed notes)",
    operation: "audit.checkpoints", query: CheckpointQuerySchema, response: CheckpointListSchema, status: 200,
    rpc: (v, call) => v.listCheckpoints(call),
  },
  {
    method: "get", path: "/v1/audit/proof/inclusion", tag, summary: "RFC 6962 inclusion proof of an entry in the audit Merkle tree",
    operation: "audit.inclusion_proof", query: InclusionProofQuerySchema, response: InclusionProofSchema, status: 200,
    rpc: (v, call) => v.inclusionProof(call),
  },
  {
    method: "get", path: "/v1/audit/proof/consistency", tag, summary: "RFC 6962 consistency proof between two sizes of the audit Merkle tree",
    operation: "audit.consistency_proof", query: ConsistencyProofQuerySchema, response: ConsistencyProofSchema, status: 200,
    rpc: (v, call) => v.consistencyProof(call),
  },
  {
    method: "get", path: "/v1/incident/impact", tag: "incident", summary: "Which credentials were leased in a window, by whom, and how each lease ended",
    operation: "incident.impact", query: ImpactQuerySchema, response: ImpactReportSchema, status: 200,
    rpc: (v, call) => v.impactReport(call),
  },
];

/** JSON Lines export; streamed page by page from the tenant's vault. */
const exportRoute: RouteDef & { operation: "audit.export" } = {
  method: "get", path: "/v1/audit/export", tag, summary: "Export entries and checkpoints as JSON Lines for offline verification",
  operation: "audit.export", query: AuditRangeSchema, response: null, status: 200,
};

/** The signing key's public half: public, so anyone holding an export can verify it. */
const publicKeyRoute: RouteDef = {
  method: "get", path: "/v1/audit/public-key", tag, summary: "The Ed25519 key that signs checkpoints",
  operation: null, response: AuditPublicKeySchema, status: 200,
};

/** Routes of this file that are not plain JSON RPC routes, for the OpenAPI document. */
export const auditExtraRoutes: RouteDef[] = [exportRoute, publicKeyRoute];

/** The audit router. */
export const audit = new Hono<AppEnv>()
  .get(publicKeyRoute.path, async (c) => {
    const { keyName, publicKey, vkey, legacyKeyName, legacyVkey } = await auditPublicKey(c.get("config").AUDIT_SIGNING_KEY, c.get("config").AUDIT_HOST);
    return respond(c, publicKeyRoute, { key_name: keyName, public_key: bytesToBase64(publicKey), verifier_key: vkey, legacy_key_name: legacyKeyName, legacy_verifier_key: legacyVkey, algorithm: "ed25519" });
  })
  .get(exportRoute.path, async (c) => {
    const token = bearer(c);
    const vault = vaultStub(c.env, token.tenantId);
    const { query } = await readInputAsCaller(c, exportRoute, vault, token);
    const page = (after: number | null) => vault.exportAudit(vaultCall(c, token, { ...query, after, limit: EXPORT_PAGE })).then((o) => unwrapOutcome(o) as ExportPage);
    // The first page is fetched before answering, so a refused token gets its 401/403 as usual.
    const first = await page(null);
    const encoder = new TextEncoder();
    let next = first.next_after;
    let pending: ExportPage | null = first;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const current = pending ?? (next === null ? null : await page(next));
        pending = null;
        if (current === null) return controller.close();
        next = current.next_after;
        controller.enqueue(encoder.encode(current.lines.map((l) => `${l}\n`).join("")));
        if (next === null) controller.close();
      },
    });
    return new Response(body, { headers: { "content-type": "application/x-ndjson", "cache-control": "no-store", "x-request-id": c.get("requestId") } });
  })
  .route("/", vaultRouter(auditRoutes));
