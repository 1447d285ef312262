/**
 * The two checkpoint formats of a tenant's audit log and how a verifier tells them apart
 * (docs/audit-events.md "Checkpoints"):
 *
 * - `chain` (legacy, signed before the tenant's Merkle cut-over): origin `<host>/audit/<tenant>`,
 *   key name `<host>/audit`, root-hash line = the hash-chain head (SHA-256 of entry `size`).
 * - `merkle`: origin `<host>/audit/v2/<tenant>`, key name `<host>/audit/v2`, root-hash line = the
 *   RFC 6962 Merkle tree hash of entries 1..size (C2SP tlog-checkpoint as written).
 *
 * Both are signed by the same Ed25519 key under different key names (signing-key.ts), so one
 * verifier key, pinned once, checks both; the origin in a note decides which rule its hash obeys.
 */

import { parseCheckpoint, verifyCheckpoint, type Checkpoint, type CheckpointResult } from "./checkpoint";
import { keyId, parseSignedNote, parseVerifierKey, type NoteVerifier } from "./signed-note";

/** Which rule a checkpoint's hash line follows. */
export type CheckpointFormat = "chain" | "merkle";

/** The same public key under both key names. */
export interface AuditLogVerifiers {
  readonly chain: NoteVerifier;
  readonly merkle: NoteVerifier;
}

const MERKLE_SUFFIX = "/v2";

/**
 * The checkpoint origin of a tenant's Merkle log, `<host>/audit/v2/<tenant>`.
 * @throws Error if host or tenant contains whitespace, "+" or "/", or is empty.
 */
export function merkleCheckpointOrigin(host: string, tenantId: string): string {
  if (!/^[^\s+/]+$/u.test(host) || !/^[^\s+/]+$/u.test(tenantId)) {
    throw new Error("checkpoint origin: host and tenant must be non-empty, without spaces, '+' or '/'");
  }
  return `${host}/audit/v2/${tenantId}`;
}

/**
 * Both verifiers of the audit key, from either of its verifier key strings (`<host>/audit+…`
 * as pinned before the cut-over, or `<host>/audit/v2+…` as `/v1/audit/public-key` now gives it).
 * The public key is the caller's; only the key name is derived. Null if the key is not valid.
 */
export async function auditLogVerifiers(key: string | NoteVerifier): Promise<AuditLogVerifiers | null> {
  const given = typeof key === "string" ? await parseVerifierKey(key) : key;
  if (given === null) return null;
  const renamed = async (name: string): Promise<NoteVerifier> => ({
    name,
    keyId: await keyId(name, given.publicKey),
    publicKey: given.publicKey,
  });
  if (given.name.endsWith(MERKLE_SUFFIX)) {
    const chainName = given.name.slice(0, -MERKLE_SUFFIX.length);
    return chainName.length === 0 ? null : { chain: await renamed(chainName), merkle: given };
  }
  return { chain: given, merkle: await renamed(given.name + MERKLE_SUFFIX) };
}

/** The origins this key signs for `tenant`: key name + "/" + tenant (the key name is the origin's prefix). */
export function auditOrigins(verifiers: AuditLogVerifiers, tenant: string): Record<CheckpointFormat, string> {
  return { chain: `${verifiers.chain.name}/${tenant}`, merkle: `${verifiers.merkle.name}/${tenant}` };
}

/** A verified checkpoint and the rule its hash follows. */
export type AuditCheckpointResult =
  | { ok: true; format: CheckpointFormat; checkpoint: Checkpoint }
  | { ok: false; reason: string };

/**
 * Verifies a checkpoint note of `tenant`'s log in either format: its origin picks the format and
 * the key name that must have signed it. A note for any other origin, or signed by neither name
 * of the key, fails. The hash is not checked here: the caller recomputes the chain head or the
 * Merkle root for that size. Never throws.
 */
export async function openAuditCheckpoint(
  note: string,
  verifiers: AuditLogVerifiers,
  tenant: string,
): Promise<AuditCheckpointResult> {
  const origins = auditOrigins(verifiers, tenant);
  const parsed = parseSignedNote(note);
  if (!parsed.ok) return parsed;
  const body = parseCheckpoint(parsed.note.text);
  if (!body.ok) return body;
  const format: CheckpointFormat | null =
    body.checkpoint.origin === origins.merkle ? "merkle" : body.checkpoint.origin === origins.chain ? "chain" : null;
  if (format === null) {
    return {
      ok: false,
      reason: `checkpoint origin ${JSON.stringify(body.checkpoint.origin)} is not the expected one (${origins.merkle} or, before the cut-over, ${origins.chain})`,
    };
  }
  const opened: CheckpointResult = await verifyCheckpoint(note, verifiers[format], { origin: origins[format] });
  return opened.ok ? { ok: true, format, checkpoint: opened.checkpoint } : opened;
}
