/**
 * C2SP tlog-cosignature `cosignature/v1` (https://c2sp.org/tlog-cosignature), Ed25519 only: a
 * witness's statement that a checkpoint is the largest consistent tree head it has seen for a log.
 *
 * A cosignature is an ordinary signed-note signature line, `— <witness name> base64(sig)`, with
 *   key ID    = SHA-256(<name> || 0x0A || 0x04 || 32-byte public key)[:4]   (type byte 0x04)
 *   sig       = key ID || u64-BE timestamp || Ed25519(message)
 *   message   = "cosignature/v1\ntime <timestamp>\n" || checkpoint body (with its final "\n")
 * The timestamp is POSIX seconds, decimal without leading zeros in the message, and never 0 here
 * (0 means "no statement about the largest tree", which a witness of this vault never makes).
 *
 * A vkey for a witness is `<name>+<hex key ID>+base64(0x04 || public key)`, the signed-note vkey
 * format with the cosignature type byte, so the same parser shape serves both.
 */

import { bytesEqual, concatBytes, toBase64, toHex } from "./encoding";
import { ED25519_SIGNATURE_BYTES, importSigningKey, sign, verify } from "./ed25519";
import { verifyCheckpoint, type Checkpoint, type VerifyCheckpointOptions } from "./checkpoint";
import {
  isValidKeyName,
  parseSignedNote,
  parseTypedVerifierKey,
  typedKeyId,
  typedVerifierKey,
  type NoteSignature,
  type NoteVerifier,
} from "./signed-note";

/** Key ID type byte of an Ed25519 cosignature/v1 key (tlog-cosignature, "Format"). */
export const SIGNATURE_TYPE_COSIGNATURE_V1 = 0x04;

/** tlog-cosignature: the timestamp MUST NOT exceed 2^63 − 1; JS numbers stop earlier, at 2^53 − 1. */
const MAX_TIMESTAMP = Number.MAX_SAFE_INTEGER;
const TIMESTAMP_BYTES = 8;
const encoder = new TextEncoder();

/** A witness key that cosigns checkpoints under `name`. */
export interface Cosigner {
  readonly name: string;
  /** SHA-256(name || 0x0A || 0x04 || public key)[:4]. */
  readonly keyId: Uint8Array;
  readonly publicKey: Uint8Array;
  /** Signs the cosignature/v1 message bytes. */
  sign(message: Uint8Array): Promise<Uint8Array>;
}

/** A trusted witness key: same shape as a note verifier, with a cosignature key ID. */
export type CosignerKey = NoteVerifier;

/** Outcome of checking one cosignature line. */
export type CosignatureResult = { ok: true; timestamp: number } | { ok: false; reason: string };

/** Cosignature key ID: SHA-256(name || 0x0A || 0x04 || public key)[:4]. */
export async function cosignatureKeyId(name: string, publicKey: Uint8Array): Promise<Uint8Array> {
  return typedKeyId(name, SIGNATURE_TYPE_COSIGNATURE_V1, publicKey);
}

/**
 * Creates a cosigner from an Ed25519 private key (32-byte seed as bytes or lowercase hex, or
 * PKCS#8 bytes) and the witness name.
 * @throws Error on an invalid name or key.
 */
export async function createCosigner(privateKey: Uint8Array | string, name: string): Promise<Cosigner> {
  if (!isValidKeyName(name)) throw new Error(`invalid cosigner name: ${JSON.stringify(name)}`);
  const pair = await importSigningKey(privateKey);
  return {
    name,
    keyId: await cosignatureKeyId(name, pair.publicKey),
    publicKey: pair.publicKey,
    sign: (message) => sign(pair.privateKey, message),
  };
}

/** The witness vkey `<name>+<hex key ID>+<base64(0x04 || public key)>`. */
export async function cosignerVerifierKey(name: string, publicKey: Uint8Array): Promise<string> {
  return typedVerifierKey(name, SIGNATURE_TYPE_COSIGNATURE_V1, publicKey);
}

/**
 * Parses a witness vkey. Null unless it is a type-0x04 Ed25519 key whose key ID matches its name
 * and public key; a log's type-0x01 vkey is refused, so the two kinds of key cannot be confused.
 */
export async function parseCosignerKey(vkey: string): Promise<CosignerKey | null> {
  return parseTypedVerifierKey(vkey, SIGNATURE_TYPE_COSIGNATURE_V1);
}

/** The signed message: `cosignature/v1\ntime <ts>\n` followed by the checkpoint body. */
export function cosignatureMessage(body: string, timestamp: number): Uint8Array {
  return encoder.encode(`cosignature/v1\ntime ${timestamp}\n${body}`);
}

/**
 * Cosigns a checkpoint body (the note text, ending in "\n") at `timestamp` (POSIX seconds) and
 * returns the signature line, ending in "\n", to append to the signed checkpoint note.
 * @throws Error if the timestamp is 0, negative, fractional or too large.
 */
export async function cosign(cosigner: Cosigner, body: string, timestamp: number): Promise<string> {
  if (!validTimestamp(timestamp)) throw new Error("cosignature timestamp must be a positive integer of seconds");
  if (body.length === 0 || !body.endsWith("\n")) throw new Error("checkpoint body must end with a newline");
  const signature = await cosigner.sign(cosignatureMessage(body, timestamp));
  const bytes = concatBytes(cosigner.keyId, u64be(timestamp), signature);
  return `\u2014 ${cosigner.name} ${toBase64(bytes)}\n`;
}

/**
 * Verifies one parsed signature line as a cosignature by `key` over `body`. The caller has
 * already matched name and key ID; this checks length, timestamp and the Ed25519 signature.
 */
export async function verifyCosignature(
  key: CosignerKey,
  body: string,
  line: NoteSignature,
): Promise<CosignatureResult> {
  if (line.name !== key.name || !bytesEqual(line.keyId, key.keyId))
    return { ok: false, reason: "not this witness's key" };
  if (line.signature.length !== TIMESTAMP_BYTES + ED25519_SIGNATURE_BYTES) {
    return { ok: false, reason: `cosignature by ${key.name} has the wrong length` };
  }
  const timestamp = readU64be(line.signature);
  if (timestamp === null || !validTimestamp(timestamp)) {
    return { ok: false, reason: `cosignature by ${key.name} has an invalid timestamp` };
  }
  const ok = await verify(key.publicKey, cosignatureMessage(body, timestamp), line.signature.slice(TIMESTAMP_BYTES));
  return ok ? { ok: true, timestamp } : { ok: false, reason: `invalid cosignature by witness ${key.name}` };
}

/** Result of {@link verifyWitnessQuorum}. */
export type QuorumResult =
  | { ok: true; checkpoint: Checkpoint; cosignedBy: string[] }
  | { ok: false; reason: string; cosignedBy: string[] };

/**
 * Verifies a cosigned checkpoint: first the log's own signature (by `logKey`, and the origin if
 * given), then counts valid cosignatures from distinct known witnesses and requires at least
 * `threshold` (tlog-witness / tlog-policy k-of-n). Lines by unknown keys are ignored; a line that
 * claims a known witness (name and key ID) and fails rejects the note, as signed-note asks for a
 * failing known key. Witnesses are counted once each, and two configured names sharing one public
 * key count once (the v1 message does not commit to the name). Never throws.
 */
export async function verifyWitnessQuorum(
  note: string,
  logKey: string | NoteVerifier,
  witnesses: readonly CosignerKey[],
  threshold: number,
  options: VerifyCheckpointOptions = {},
): Promise<QuorumResult> {
  const cosignedBy: string[] = [];
  if (!Number.isSafeInteger(threshold) || threshold < 0)
    return { ok: false, reason: "quorum threshold must be a non-negative integer", cosignedBy };
  const logged = await verifyCheckpoint(note, logKey, options);
  if (!logged.ok) return { ok: false, reason: logged.reason, cosignedBy };
  const parsed = parseSignedNote(note);
  if (!parsed.ok) return { ok: false, reason: parsed.reason, cosignedBy };
  const seenKeys: string[] = [];
  for (const line of parsed.note.signatures) {
    const key = witnesses.find((w) => w.name === line.name && bytesEqual(w.keyId, line.keyId));
    if (key === undefined) continue;
    const result = await verifyCosignature(key, parsed.note.text, line);
    if (!result.ok) return { ok: false, reason: result.reason, cosignedBy };
    const pub = toHex(key.publicKey);
    if (seenKeys.includes(pub)) continue;
    seenKeys.push(pub);
    cosignedBy.push(key.name);
  }
  if (cosignedBy.length < threshold) {
    return {
      ok: false,
      reason: `checkpoint has ${cosignedBy.length} of the ${threshold} witness cosignatures required`,
      cosignedBy,
    };
  }
  return { ok: true, checkpoint: logged.checkpoint, cosignedBy };
}

function validTimestamp(timestamp: number): boolean {
  return Number.isSafeInteger(timestamp) && timestamp > 0 && timestamp <= MAX_TIMESTAMP;
}

function u64be(value: number): Uint8Array {
  const out = new Uint8Array(TIMESTAMP_BYTES);
  new DataView(out.buffer).setBigUint64(0, BigInt(value));
  return out;
}

/** The first 8 bytes as a big-endian integer, or null beyond Number.MAX_SAFE_INTEGER. */
function readU64be(bytes: Uint8Array): number | null {
  const value = new DataView(bytes.buffer, bytes.byteOffset, TIMESTAMP_BYTES).getBigUint64(0);
  return value <= BigInt(MAX_TIMESTAMP) ? Number(value) : null;
}
