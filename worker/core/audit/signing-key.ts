import { createSigner, verifierKey, type NoteSigner } from "./signed-note";
import { importSigningKey } from "./ed25519";

/**
 * Names the audit signing key signs under. One Ed25519 key, two C2SP signed-note key names:
 * `<host>/audit` for the hash-chain checkpoints signed before a tenant's Merkle cut-over, and
 * `<host>/audit/v2` for RFC 6962 Merkle checkpoints. The new name gives the new log its own key
 * ID, so a note of one format can never be taken for the other (transparency-log reference §3:
 * a log must not sign inconsistent checkpoints, so a change of root rule is a new log), while the
 * public key customers pinned stays the same.
 */

/** The key name of hash-chain (legacy, v1) checkpoints. */
export function signingKeyName(host: string): string {
  return `${host}/audit`;
}

/** The key name of RFC 6962 Merkle checkpoints: the origin prefix of `<host>/audit/v2/<tenant>`. */
export function merkleKeyName(host: string): string {
  return `${host}/audit/v2`;
}

/** Both signers of the audit key: `chain` for legacy checkpoints, `merkle` for Merkle ones. */
export interface AuditSigners {
  readonly chain: NoteSigner;
  readonly merkle: NoteSigner;
}

/** The signers for checkpoints, from the AUDIT_SIGNING_KEY seed. */
export async function auditSigners(seedHex: string, host: string): Promise<AuditSigners> {
  const [chain, merkle] = await Promise.all([
    createSigner(seedHex, signingKeyName(host)),
    createSigner(seedHex, merkleKeyName(host)),
  ]);
  return { chain, merkle };
}

/**
 * The public half of the signing key, as raw bytes and as C2SP verifier key strings: the
 * Merkle key name first (what new checkpoints are signed under), the legacy one beside it.
 */
export async function auditPublicKey(
  seedHex: string,
  host: string,
): Promise<{ keyName: string; publicKey: Uint8Array; vkey: string; legacyKeyName: string; legacyVkey: string }> {
  const { publicKey } = await importSigningKey(seedHex);
  const keyName = merkleKeyName(host);
  const legacyKeyName = signingKeyName(host);
  return {
    keyName,
    publicKey,
    vkey: await verifierKey(keyName, publicKey),
    legacyKeyName,
    legacyVkey: await verifierKey(legacyKeyName, publicKey),
  };
}
