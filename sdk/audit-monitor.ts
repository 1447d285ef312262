/**
 * Online fork detection without downloading the log (issue 10's "online calls do not run a
 * consistency proof" gap): the newest signed Merkle checkpoint is fetched, checked with the
 * caller's key (and witness quorum), and tied to the checkpoint this client remembered before by
 * an RFC 6962 consistency proof. A vault that rewrote history after showing this client a
 * checkpoint cannot produce that proof, so the check costs two small requests instead of an
 * export. The first check trusts what it sees (trust on first use) and remembers it.
 */

import { fromBase64, toHex } from "../worker/core/audit/encoding";
import { auditLogVerifiers, auditOrigins, openAuditCheckpoint } from "../worker/core/audit/log-checkpoint";
import type { ConsistencyProof } from "../worker/contract/schemas/audit";
import type { CheckpointList } from "./audit";
import { AuditForkError, type CheckpointMemory, type RememberedCheckpoint } from "./audit-memory";
import { verifyConsistencyProof } from "./audit-proof";
import type { AuditVerifierKey } from "./audit-verify";
import { checkWitnesses, parseWitnessPolicy, type WitnessPolicy } from "./audit-witness";

/** The two calls the check makes; `vault.audit` has them. */
export interface AuditHeadSource {
  checkpoints(range: { fresh?: boolean }): Promise<CheckpointList>;
  consistencyProof(query: { old: number; new?: number }): Promise<ConsistencyProof>;
}

/** Options of {@link checkAuditHead}. */
export interface CheckAuditHeadOptions {
  /** The tenant whose log this is; the client takes it from its own token, never from the vault. */
  readonly tenant: string;
  /** Where the newest verified checkpoint is remembered; without it only the signature is checked. */
  readonly memory?: CheckpointMemory;
  /** Only a checkpoint cosigned by this many of these witnesses counts. */
  readonly witnesses?: WitnessPolicy;
  /** Ask the vault to sign its current head first (default true; rate-bounded on the server). */
  readonly fresh?: boolean;
}

/** What {@link checkAuditHead} found; a fork or rollback is thrown as {@link AuditForkError}. */
export type AuditHeadCheck =
  | {
      ok: true;
      /** Size and root (hex) of the newest checkpoint that verified. */
      size: number;
      root: string;
      /** The remembered size it was proved consistent with (null on first use or without memory). */
      provedFrom: number | null;
      cosignedBy: string[];
    }
  | { ok: false; reason: string };

const fail = (reason: string) => ({ ok: false, reason }) as const;

/**
 * Checks the vault's newest Merkle checkpoint against `key` and against what `memory` holds.
 * @throws AuditForkError if the checkpoint contradicts the remembered one: smaller (rollback), the
 *   same size with another root, or larger without a valid consistency proof from it.
 */
export async function checkAuditHead(
  source: AuditHeadSource,
  key: AuditVerifierKey,
  options: CheckAuditHeadOptions,
): Promise<AuditHeadCheck> {
  const verifiers = await auditLogVerifiers(typeof key === "string" ? key : key.verifier_key);
  if (verifiers === null) return fail("the verifier key is not a valid Ed25519 signed-note key");
  const policy = options.witnesses && (await parseWitnessPolicy(options.witnesses));
  if (typeof policy === "string") return fail(policy);

  // Newest first: with witnesses the newest cosigned checkpoint counts (cosigning lags signing).
  const { items } = await source.checkpoints({ fresh: options.fresh ?? true });
  let head: { size: number; root: string; note: string; cosignedBy: string[] } | undefined;
  let miss = "the vault has no signed Merkle checkpoint yet";
  for (const cp of [...items].reverse()) {
    const opened = await openAuditCheckpoint(cp.note, verifiers, options.tenant);
    if (!opened.ok) return fail(`checkpoint ${cp.size}: ${opened.reason}`);
    // Hash-chain checkpoints (before a tenant's Merkle cut-over) sign no root to prove against.
    if (opened.format !== "merkle") break;
    if (opened.checkpoint.size !== cp.size) return fail(`checkpoint ${cp.size}: its signed size differs`);
    const cosigned = policy ? await checkWitnesses(cp.note, verifiers, undefined, policy) : undefined;
    if (cosigned && !cosigned.ok) {
      miss = `no Merkle checkpoint is cosigned by the witness quorum yet (newest tried: ${cp.size}: ${cosigned.reason})`;
      continue;
    }
    head = { size: cp.size, root: opened.checkpoint.hash, note: cp.note, cosignedBy: cosigned?.cosignedBy ?? [] };
    break;
  }
  if (head === undefined) return fail(miss);

  const origin = auditOrigins(verifiers, options.tenant).merkle;
  const remembered = await options.memory?.get(origin);
  const provedFrom = remembered ? await proveFrom(source, remembered, head) : null;
  if (options.memory && (!remembered || head.size > remembered.size))
    await options.memory.set({ origin, size: head.size, hash: head.root, note: head.note });
  return { ok: true, size: head.size, root: head.root, provedFrom, cosignedBy: head.cosignedBy };
}

/** Proves `head` extends `remembered`, or throws AuditForkError with both as evidence. */
async function proveFrom(
  source: AuditHeadSource,
  remembered: RememberedCheckpoint,
  head: { size: number; root: string },
): Promise<number> {
  const fork = (why: string, found: { size: number; hash: string | null }) =>
    new AuditForkError(
      `audit log fork or rollback: ${why} (remembered checkpoint of size ${remembered.size})`,
      remembered,
      found,
    );
  if (head.size < remembered.size)
    throw fork(`the newest checkpoint is of size ${head.size}, before the ${remembered.size} entries seen earlier`, {
      size: head.size,
      hash: head.root,
    });
  if (head.size === remembered.size) {
    if (head.root !== remembered.hash)
      throw fork(`the root of entries 1..${head.size} differs from the one signed before`, {
        size: head.size,
        hash: head.root,
      });
    return remembered.size;
  }
  const proof = await source.consistencyProof({ old: remembered.size, new: head.size });
  const hex = (b64: string) => {
    const bytes = fromBase64(b64);
    return bytes === null ? null : toHex(bytes);
  };
  const tied =
    proof.old === remembered.size &&
    proof.new === head.size &&
    hex(proof.old_root) === remembered.hash &&
    hex(proof.new_root) === head.root;
  if (!tied || !(await verifyConsistencyProof(proof)))
    throw fork(`the vault cannot prove the tree of ${remembered.size} is a prefix of the tree of ${head.size}`, {
      size: remembered.size,
      hash: hex(proof.old_root),
    });
  return remembered.size;
}
