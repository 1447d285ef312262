/**
 * Signed audit checkpoints: a C2SP tlog-checkpoint body (https://c2sp.org/tlog-checkpoint)
 * carried in a C2SP signed note (DESIGN.md "Audit log").
 *
 * Deviation from tlog-checkpoint, on purpose: the audit log is a hash chain, not an RFC 6962
 * Merkle tree, so the "root hash" line carries the chain head (the SHA-256 hash of entry `size`)
 * and, for size 0, the tenant's genesis hash. The note format, origin line and signatures are
 * standard, so signature checking works with any signed-note tool, but Merkle inclusion and
 * consistency proofs do not apply: consistency between two checkpoints is shown by recomputing
 * the chain between them (`verifyChain` with both heads as anchors).
 */

import { fromBase64, fromHex, toBase64, toHex } from "./encoding";
import { openNote, parseVerifierKey, signNote, type NoteSigner, type NoteVerifier } from "./signed-note";

/** The three mandatory lines of a checkpoint body, with the head hash as lowercase hex. */
export interface Checkpoint {
  /** `<host>/audit/<tenant>`: names the log so a checkpoint of one tenant cannot pass for another. */
  readonly origin: string;
  /** Number of entries covered: entries 1..size (seq starts at 1). */
  readonly size: number;
  /** Lowercase hex SHA-256 of entry `size`, or the genesis hash when size is 0. */
  readonly hash: string;
}

/** Result of parsing or verifying a checkpoint. */
export type CheckpointResult = { ok: true; checkpoint: Checkpoint } | { ok: false; reason: string };

/** Options for {@link verifyCheckpoint}. */
export interface VerifyCheckpointOptions {
  /** Refuse a checkpoint whose origin differs (a valid checkpoint of another tenant's log). */
  readonly origin?: string;
}

/**
 * The checkpoint origin of a tenant's audit log, `<host>/audit/<tenant>` (a schema-less URL, as
 * tlog-checkpoint recommends).
 * @throws Error if host or tenant contains whitespace, "+" or "/" (tenant) or is empty, which
 *   would make the origin unusable as a signed-note key name or ambiguous as a path.
 */
export function checkpointOrigin(host: string, tenantId: string): string {
  if (!/^[^\s+/]+$/u.test(host) || !/^[^\s+/]+$/u.test(tenantId)) {
    throw new Error("checkpoint origin: host and tenant must be non-empty, without spaces, '+' or '/'");
  }
  return `${host}/audit/${tenantId}`;
}

/**
 * The checkpoint body: `<origin>\n<size>\n<base64 head hash>\n` (tlog-checkpoint, "Note text").
 * @throws Error if a field cannot be written in that form.
 */
export function formatCheckpoint(checkpoint: Checkpoint): string {
  const hash = fromHex(checkpoint.hash);
  if (checkpoint.origin.length === 0 || /[\p{Cc}]/u.test(checkpoint.origin)) {
    throw new Error("checkpoint origin must be a non-empty line");
  }
  if (!Number.isSafeInteger(checkpoint.size) || checkpoint.size < 0) {
    throw new Error("checkpoint size must be a non-negative safe integer");
  }
  if (hash?.length !== 32) throw new Error("checkpoint hash must be 64 lowercase hex characters");
  return `${checkpoint.origin}\n${checkpoint.size}\n${toBase64(hash)}\n`;
}

/**
 * Parses a checkpoint body. Extension lines after the hash are allowed by tlog-checkpoint and
 * ignored here; this log writes none.
 */
export function parseCheckpoint(body: string): CheckpointResult {
  const fail = (reason: string) => ({ ok: false, reason }) as const;
  if (!body.endsWith("\n")) return fail("checkpoint body must end with a newline");
  const lines = body.slice(0, -1).split("\n");
  const [origin, sizeText, hashText] = lines;
  if (origin === undefined || sizeText === undefined || hashText === undefined) {
    return fail("checkpoint body needs origin, size and hash lines");
  }
  if (origin.length === 0) return fail("checkpoint origin is empty");
  if (lines.slice(3).some((l) => l.length === 0)) return fail("checkpoint has an empty extension line");
  // tlog-checkpoint: size is ASCII decimal without leading zeros.
  if (!/^(?:0|[1-9][0-9]*)$/.test(sizeText)) return fail("checkpoint size is not a decimal number");
  const size = Number(sizeText);
  if (!Number.isSafeInteger(size)) return fail("checkpoint size is too large");
  const hash = fromBase64(hashText);
  if (hash?.length !== 32) return fail("checkpoint hash is not base64 of 32 bytes");
  return { ok: true, checkpoint: { origin, size, hash: toHex(hash) } };
}

/** Formats and signs a checkpoint, returning the signed note text. */
export async function signCheckpoint(signer: NoteSigner, checkpoint: Checkpoint): Promise<string> {
  return signNote(formatCheckpoint(checkpoint), [signer]);
}

/**
 * Verifies a signed checkpoint note against one public key, given as a C2SP verifier key string
 * (`<name>+<hex key ID>+<base64 key>`, see `verifierKey`) or an already parsed verifier, and
 * returns its contents. Never throws: every failure, including a signature by another key or an
 * edited body, comes back as `{ ok: false, reason }`.
 */
export async function verifyCheckpoint(
  note: string,
  key: string | NoteVerifier,
  options: VerifyCheckpointOptions = {},
): Promise<CheckpointResult> {
  const verifier = typeof key === "string" ? await parseVerifierKey(key) : key;
  if (verifier === null) return { ok: false, reason: "verifier key is not a valid Ed25519 signed-note key" };
  const opened = await openNote(note, [verifier]);
  if (!opened.ok) return opened;
  const parsed = parseCheckpoint(opened.text);
  if (!parsed.ok) return parsed;
  if (options.origin !== undefined && parsed.checkpoint.origin !== options.origin) {
    return {
      ok: false,
      reason: `checkpoint origin ${JSON.stringify(parsed.checkpoint.origin)} is not the expected one`,
    };
  }
  return parsed;
}
