// What bench/merkle.mjs needs from the TypeScript sources, bundled with esbuild for Node.
export { verifyAuditExport } from "../../sdk/audit-verify";
export { entryLine, nextEntry, type ChainHead } from "../../worker/core/audit/codec";
export { signCheckpoint } from "../../worker/core/audit/checkpoint";
export { sha256, toHex } from "../../worker/core/audit/encoding";
export { CompactRange } from "../../worker/core/audit/merkle";
export { createSigner, verifierKey } from "../../worker/core/audit/signed-note";
