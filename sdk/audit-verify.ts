/**
 * Offline verification of an audit export with only the signing key: the same chain and
 * checkpoint code the server runs (worker/core/audit), over the JSON Lines of `audit.exportLines()`.
 * Pure WebCrypto: runs in Node >= 20, Workers and browsers.
 */

import { genesisHash, verifyChain, type ChainHead, type StoredAuditEntry } from "../worker/core/audit/codec";
import { verifyCheckpoint } from "../worker/core/audit/checkpoint";
import { parseVerifierKey } from "../worker/core/audit/signed-note";
import { AuditForkError, type CheckpointMemory, type RememberedCheckpoint } from "./audit-memory";
import { AuditExportCheckpointSchema, AuditExportEntrySchema, AuditExportHeaderSchema, sourceLines, type TextSource } from "./audit-export";

/** The outcome of {@link verifyAuditExport}: what was verified, or the first bad seq and why. */
export type AuditExportVerification =
  | {
      ok: true;
      tenant: string;
      /** Entries checked, seq `fromSeq` to `toSeq` (toSeq = fromSeq - 1 for an empty export). */
      entries: number;
      fromSeq: number;
      toSeq: number;
      /** Hash of entry `toSeq` (the start hash for an empty export). */
      head: string;
      /** Checkpoints whose signature verified and whose hash matched the recomputed chain. */
      checkpoints: number;
      /** Largest signed checkpoint size (0 if none): entries after it are linked but not yet signed. */
      signedThrough: number;
      /** Entries after `signedThrough`: nonzero only when `allowUnsignedTail` was given. */
      unsignedTail: number;
    }
  | { ok: false; seq: number; reason: string; unsignedTail?: number };

/** Options for {@link verifyAuditExport}. */
export interface VerifyAuditExportOptions {
  /** Refuse an export of any other tenant. */
  tenant?: string;
  /**
   * Accept entries after the last signed checkpoint (reported as `unsignedTail`). Default false:
   * nothing the key did not sign is vouched for, and a fresh export ends with a checkpoint. Even
   * with this option at least one checkpoint must verify, so a fabricated export still fails.
   */
  allowUnsignedTail?: boolean;
  /** Entries recomputed per batch, bounding memory on large exports. Default 1000. */
  batchSize?: number;
  /**
   * The newest checkpoint verified before, per origin: the export must agree with it (same hash
   * at that size; an export to the head not shorter), or `AuditForkError` is thrown. Updated
   * with this export's newest checkpoint when it verifies.
   */
  memory?: CheckpointMemory;
}

/** The signing key as a C2SP verifier key string, or the answer of `audit.publicKey()`. */
export type AuditVerifierKey = string | { verifier_key: string };

function parseJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

/**
 * Verifies an exported audit log: every entry's hash and link, every checkpoint's Ed25519
 * signature (with the key given here; the key in the export's header is not trusted), that each
 * checkpoint's origin is this tenant's log under that key (`<key name>/<tenant>`), sits right
 * after the entry it covers and equals the recomputed chain there, that no checkpoint claims more
 * entries than the export holds (a truncated tail), and that every entry is covered by a verified
 * checkpoint (strict; see `allowUnsignedTail`). With `memory`, also that it agrees with the
 * checkpoint remembered from an earlier verification. `lines` is the export as a string, or its
 * lines in order (e.g. `vault.audit.exportLines()`, or `splitLines(fileStream)` for text chunks).
 * @throws AuditForkError if a fully verified export contradicts the remembered checkpoint: the
 *   vault has shown another history at a size it signed before, or has gone back.
 */
export async function verifyAuditExport(lines: TextSource, key: AuditVerifierKey, options: VerifyAuditExportOptions = {}): Promise<AuditExportVerification> {
  const fail = (seq: number, reason: string) => ({ ok: false, seq, reason }) as const;
  const verifier = await parseVerifierKey(typeof key === "string" ? key : key.verifier_key);
  if (verifier === null) return fail(0, "the verifier key is not a valid Ed25519 signed-note key");
  const batchSize = Math.max(1, options.batchSize ?? 1000);
  const source = sourceLines(lines);

  const first = await source.next();
  const header = AuditExportHeaderSchema.safeParse(first.done ? undefined : parseJson(first.value));
  if (!header.success) return fail(0, "the first line is not a ghostvault-audit-export/v1 header");
  const { tenant, origin, from_seq: fromSeq } = header.data;
  if (options.tenant !== undefined && tenant !== options.tenant) return fail(0, `the export is of tenant ${tenant}, not ${options.tenant}`);
  // The origin a checkpoint must carry follows from the caller's key and the tenant, never from
  // the file: the key name is the origin's prefix (tlog-checkpoint: key name SHOULD be the origin).
  const expectedOrigin = `${verifier.name}/${tenant}`;
  if (origin !== expectedOrigin) return fail(0, `the header's origin ${JSON.stringify(origin)} is not ${JSON.stringify(expectedOrigin)}, the log this key signs for tenant ${tenant}`);
  let prevHash: string;
  if (fromSeq === 1) {
    prevHash = await genesisHash(tenant);
    if (header.data.start_prev_hash !== null && header.data.start_prev_hash !== prevHash) return fail(1, "the header's start hash is not the tenant's genesis hash");
  } else if (header.data.start_prev_hash === null) {
    return fail(fromSeq, `the header does not give the hash of seq ${fromSeq - 1}`);
  } else {
    // Untrusted, like every hash in the file: a checkpoint at or after fromSeq anchors the range.
    prevHash = header.data.start_prev_hash;
  }

  const remembered = await options.memory?.get(expectedOrigin);
  const forked = (found: { size: number; hash: string | null }, what: string) =>
    new AuditForkError(`audit log fork or rollback: ${what} (remembered checkpoint of size ${remembered!.size})`, remembered!, found);
  let newest: RememberedCheckpoint | null = null;
  /** The verified hash of entry `remembered.size`, once the chain reaches it. */
  let seenAtRemembered: string | null = null;

  let batch: StoredAuditEntry[] = [];
  let batchStart = fromSeq;
  let pending: ChainHead[] = [];
  let checkpoints = 0;
  let signedThrough = 0;
  // The seq the last entry line claims (checked by the chain); a checkpoint must follow its entry.
  let lastEntrySeq = fromSeq - 1;
  const flush = async () => {
    if (batch.length === 0) return null;
    const result = await verifyChain(batch, prevHash, batchStart, { tenant, anchors: pending });
    if (!result.ok) return result;
    // The chain is verified here, so the stored hash at the remembered size is the recomputed one.
    if (remembered && remembered.size >= batchStart && remembered.size <= result.head.seq) seenAtRemembered = batch[remembered.size - batchStart]!.hash;
    prevHash = result.head.hash;
    batchStart = result.head.seq + 1;
    pending = pending.filter((a) => a.seq >= batchStart);
    batch = [];
    return null;
  };

  for await (const line of source) {
    const json = parseJson(line);
    const nextSeq = batchStart + batch.length;
    const entry = AuditExportEntrySchema.safeParse(json);
    if (entry.success) {
      if (entry.data.seq !== entry.data.entry.seq) return fail(entry.data.seq, "the line's seq differs from its entry's seq");
      if (batch.length >= batchSize) {
        const bad = await flush();
        if (bad) return bad;
      }
      batch.push({ entry: entry.data.entry, hash: entry.data.hash });
      lastEntrySeq = entry.data.seq;
      continue;
    }
    const cp = AuditExportCheckpointSchema.safeParse(json);
    if (!cp.success) return fail(nextSeq, `a line after seq ${nextSeq - 1} is neither an entry nor a checkpoint`);
    const opened = await verifyCheckpoint(cp.data.note, verifier, { origin: expectedOrigin });
    if (!opened.ok) return fail(cp.data.size, `checkpoint ${cp.data.size}: ${opened.reason}`);
    const { size, hash } = opened.checkpoint;
    if (size !== cp.data.size) return fail(cp.data.size, "the checkpoint line's size differs from its signed size");
    // The exporter writes each checkpoint right after the entry it covers; anywhere else the
    // lines were moved, so refuse rather than guess which entries it was meant to anchor.
    if (size !== lastEntrySeq || size < batchStart - 1) {
      // A broken chain before this line (a deleted entry) is the better report: give it first.
      const bad = await flush();
      return bad ?? fail(size, `checkpoint ${size} is out of place (after seq ${lastEntrySeq})`);
    }
    if (size === batchStart - 1 && hash !== prevHash) return fail(size, `hash differs from the signed checkpoint of size ${size}`);
    if (size >= batchStart) pending.push({ seq: size, hash });
    newest = { origin: expectedOrigin, size, hash, note: cp.data.note };
    checkpoints++;
    signedThrough = Math.max(signedThrough, size);
  }
  const bad = await flush();
  if (bad) return bad;
  const toSeq = batchStart - 1;
  if (signedThrough > toSeq) return fail(toSeq + 1, `a signed checkpoint covers ${signedThrough} entries but the export ends at seq ${toSeq}`);
  const unsignedTail = toSeq - Math.max(signedThrough, fromSeq - 1);
  if (checkpoints === 0 && toSeq >= fromSeq) {
    return { ok: false, seq: fromSeq, reason: `no checkpoint signed by the key covers any of the ${unsignedTail} entries (fabricated, stripped or truncated export)`, unsignedTail };
  }
  if (unsignedTail > 0 && options.allowUnsignedTail !== true) {
    return { ok: false, seq: toSeq - unsignedTail + 1, reason: `the last ${unsignedTail} entries (from seq ${toSeq - unsignedTail + 1}) are not covered by a signed checkpoint`, unsignedTail };
  }
  // Only data the key vouches for can contradict memory: an unsigned tail proves nothing either way.
  if (remembered && seenAtRemembered !== null && remembered.size <= signedThrough && seenAtRemembered !== remembered.hash) {
    throw forked({ size: remembered.size, hash: seenAtRemembered }, `entry ${remembered.size} has another hash than the one signed before`);
  }
  if (remembered && header.data.to_seq === null && remembered.size > toSeq) {
    throw forked({ size: toSeq, hash: null }, `an export to the head ends at seq ${toSeq}, before the ${remembered.size} entries seen earlier`);
  }
  if (options.memory && newest && (!remembered || newest.size > remembered.size)) await options.memory.set(newest);
  return { ok: true, tenant, entries: toSeq - fromSeq + 1, fromSeq, toSeq, head: prevHash, checkpoints, signedThrough, unsignedTail };
}
