// Bundled by verify-phases.mjs for Node: the audit chain code the Durable Object runs in
// GET /v1/audit/verify, exposed phase by phase so the bench can time where the cost goes.
export { verifyChain, genesisHash } from "../../worker/core/audit/codec";
export { canonicalBytes } from "../../worker/core/audit/canonical-json";
export { sha256, toHex } from "../../worker/core/audit/encoding";
export { auditEntrySchema } from "../../worker/core/audit/entry";
