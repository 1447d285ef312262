import { parseCosignerKey, verifyWitnessQuorum, type CosignerKey } from "../../worker/core/audit/cosignature";
import type { AuditLogVerifiers } from "../../worker/core/audit/log-checkpoint";
import type { VaultContext } from "../vault-context";

/** What `GET /v1/audit/verify` reports about witnesses when AUDIT_WITNESSES is set. */
export interface WitnessStatus {
  /** Witnesses configured for this vault. */
  configured: number;
  /** The checkpoint looked at: the one covering the verified range (null if none). */
  checkpoint: number | null;
  /** Configured witnesses whose cosignature on it verifies. */
  cosigned_by: string[];
}

/**
 * The configured witnesses' cosignatures on the checkpoint covering a verified range (issue 10
 * §3): informational, from the vault's own configuration. A customer's own quorum check uses the
 * witness keys they trust (`ghostvault audit verify --witness-key`), never this answer.
 */
export async function witnessStatus(
  ctx: VaultContext,
  verifiers: AuditLogVerifiers,
  origin: string,
  covering: { size: number; note: string } | undefined,
): Promise<WitnessStatus> {
  const configured = ctx.config.AUDIT_WITNESSES;
  if (covering === undefined) return { configured: configured.length, checkpoint: null, cosigned_by: [] };
  const keys = (await Promise.all(configured.map((w) => parseCosignerKey(w.vkey)))).filter(
    (k): k is CosignerKey => k !== null,
  );
  // Threshold 0: only the list of valid cosigners is wanted; a hash-chain note has none (its origin differs).
  const result = await verifyWitnessQuorum(covering.note, verifiers.merkle, keys, 0, { origin });
  return { configured: configured.length, checkpoint: covering.size, cosigned_by: result.cosignedBy };
}
