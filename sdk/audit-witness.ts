/**
 * Witness quorum for audit verification (issue 10 §3–4, C2SP tlog-cosignature and tlog-policy's
 * k-of-n): a checkpoint counts as witnessed when the log's own Merkle signature verifies and at
 * least `quorum` distinct witnesses the caller trusts have cosigned it (cosignature/v1). Witnesses
 * only cosign a checkpoint consistent with every one they cosigned before, so a vault that shows
 * one history to its witnesses cannot show another to this client. Hash-chain (pre-cut-over)
 * checkpoints are never witnessed: witnesses check Merkle consistency proofs.
 */

import { parseCosignerKey, verifyWitnessQuorum, type CosignerKey } from "../worker/core/audit/cosignature";
import type { AuditLogVerifiers } from "../worker/core/audit/log-checkpoint";
import { parseSignedNote } from "../worker/core/audit/signed-note";

/** Which witnesses to trust and how many must have cosigned, as a caller gives it. */
export interface WitnessPolicy {
  /** Witness verifier keys, `<name>+<hex key ID>+base64(0x04 ‖ Ed25519 public key)`. */
  readonly keys: readonly string[];
  /** How many distinct of them must have cosigned the covering checkpoint (1 ≤ quorum ≤ keys). */
  readonly quorum: number;
}

/** A parsed {@link WitnessPolicy}. */
export interface ParsedWitnessPolicy {
  readonly keys: readonly CosignerKey[];
  readonly quorum: number;
}

/** Parses a policy, or says what is wrong with it (never throws). */
export async function parseWitnessPolicy(policy: WitnessPolicy): Promise<ParsedWitnessPolicy | string> {
  const keys: CosignerKey[] = [];
  for (const [i, vkey] of policy.keys.entries()) {
    const key = await parseCosignerKey(vkey);
    if (key === null)
      return `witness key ${i + 1} is not a cosignature/v1 Ed25519 verifier key (<name>+<key id>+<base64 key>)`;
    keys.push(key);
  }
  if (keys.length === 0) return "a witness quorum needs at least one witness key";
  if (!Number.isSafeInteger(policy.quorum) || policy.quorum < 1 || policy.quorum > keys.length) {
    return `the witness quorum must be between 1 and the ${keys.length} witness keys given, not ${policy.quorum}`;
  }
  return { keys, quorum: policy.quorum };
}

/** Result of {@link checkWitnesses}: who cosigned, and whether that is a quorum. */
export type WitnessCheck = { ok: true; cosignedBy: string[] } | { ok: false; reason: string; cosignedBy: string[] };

/**
 * Checks the cosignatures on a Merkle checkpoint note of the log of `origin` (any origin if
 * undefined: only to pick a candidate, which full verification checks again). A note with only the
 * log's own signature line is answered without any cryptography (0 cosignatures), so checking
 * every checkpoint of a long export stays cheap.
 */
export async function checkWitnesses(
  note: string,
  verifiers: AuditLogVerifiers,
  origin: string | undefined,
  policy: ParsedWitnessPolicy,
): Promise<WitnessCheck> {
  const parsed = parseSignedNote(note);
  if (parsed.ok && parsed.note.signatures.length < 2) {
    return {
      ok: false,
      reason: `checkpoint has 0 of the ${policy.quorum} witness cosignatures required`,
      cosignedBy: [],
    };
  }
  const result = await verifyWitnessQuorum(note, verifiers.merkle, policy.keys, policy.quorum, { origin });
  return result.ok
    ? { ok: true, cosignedBy: result.cosignedBy }
    : { ok: false, reason: result.reason, cosignedBy: result.cosignedBy };
}
