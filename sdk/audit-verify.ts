/**
 * Offline verification of an audit export with only the signing key: the same chain and
 * checkpoint code the server runs (worker/core/audit), over the JSON Lines of `audit.exportLines()`.
 * Both checkpoint formats verify (worker/core/audit/log-checkpoint.ts): a hash-chain checkpoint's
 * hash against the recomputed chain head, a Merkle checkpoint's root against the RFC 6962 root
 * recomputed from the entries with a compact range (O(log n) memory).
 * Pure WebCrypto: runs in Node >= 20, Workers and browsers.
 */

import {
  entryLineText,
  genesisHash,
  verifyChain,
  type ChainHead,
  type StoredAuditEntry,
} from "../worker/core/audit/codec";
import { fromBase64, toHex } from "../worker/core/audit/encoding";
import {
  auditLogVerifiers,
  auditOrigins,
  openAuditCheckpoint,
  type CheckpointFormat,
} from "../worker/core/audit/log-checkpoint";
import { CompactRange } from "../worker/core/audit/merkle";
import { treeSha256Js } from "../worker/core/crypto/sha256-js";
import { MemoryCheck, type CheckpointMemory, type RememberedCheckpoint } from "./audit-memory";
import { checkWitnesses, parseWitnessPolicy, type WitnessPolicy } from "./audit-witness";
import {
  AuditExportCheckpointSchema,
  AuditExportEntrySchema,
  AuditExportHeaderSchema,
  sourceLines,
  type AuditExportEntry,
  type TextSource,
} from "./audit-export";

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
      /** With `witnesses`: the largest checkpoint size cosigned by a quorum, and by whom. */
      witnessedThrough?: number;
      cosignedBy?: string[];
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
  /**
   * Require a witness quorum: the export must end with a Merkle checkpoint cosigned by at least
   * `quorum` distinct witnesses of `keys` (entries after the last such checkpoint fail like an
   * unsigned tail, and pass with `allowUnsignedTail`, reported as `unsignedTail`, only if some
   * checkpoint of the export has the quorum).
   */
  witnesses?: WitnessPolicy;
}

/**
 * The compact range the export's Merkle roots are recomputed with: empty from seq 1, else seeded
 * with the header's `start_subtrees` (untrusted: a wrong one only makes every root mismatch).
 * A string says why there is none; it only matters if the export holds a Merkle checkpoint.
 */
function startTree(fromSeq: number, start: readonly string[] | null): CompactRange | string {
  if (fromSeq === 1) return new CompactRange(treeSha256Js); // synchronous: no await per interior node
  const hashes = (start ?? []).map(fromBase64);
  if (start === null || hashes.some((h) => h?.length !== 32))
    return `a Merkle checkpoint of an export that starts at seq ${fromSeq} needs the header's start_subtrees`;
  try {
    return new CompactRange(treeSha256Js, fromSeq - 1, hashes as Uint8Array[]);
  } catch (error) {
    return `the header's start_subtrees: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/**
 * An entry line, checked as {@link AuditExportEntrySchema} would, by hand: it is the one line
 * kind of which an export has 100,000s, and the entry itself is validated in full by the chain.
 */
function asEntryLine(json: unknown): { success: true; data: AuditExportEntry } | { success: false } {
  if (typeof json !== "object" || json === null) return { success: false };
  const line = json as Record<string, unknown>;
  const { entry } = line;
  if (
    line.kind !== "entry" ||
    !Number.isInteger(line.seq) ||
    typeof line.hash !== "string" ||
    typeof entry !== "object" ||
    entry === null ||
    Array.isArray(entry)
  ) {
    return AuditExportEntrySchema.safeParse(json);
  }
  for (const key in line)
    if (key !== "kind" && key !== "seq" && key !== "hash" && key !== "entry")
      return AuditExportEntrySchema.safeParse(json);
  return { success: true, data: line as AuditExportEntry };
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
export async function verifyAuditExport(
  lines: TextSource,
  key: AuditVerifierKey,
  options: VerifyAuditExportOptions = {},
): Promise<AuditExportVerification> {
  const fail = (seq: number, reason: string) => ({ ok: false, seq, reason }) as const;
  const verifiers = await auditLogVerifiers(typeof key === "string" ? key : key.verifier_key);
  if (verifiers === null) return fail(0, "the verifier key is not a valid Ed25519 signed-note key");
  const batchSize = Math.max(1, options.batchSize ?? 1000);
  const source = sourceLines(lines);

  const first = await source.next();
  const header = AuditExportHeaderSchema.safeParse(first.done ? undefined : parseJson(first.value));
  if (!header.success) return fail(0, "the first line is not a ghostvault-audit-export/v1 header");
  const { tenant, origin, from_seq: fromSeq } = header.data;
  if (options.tenant !== undefined && tenant !== options.tenant)
    return fail(0, `the export is of tenant ${tenant}, not ${options.tenant}`);
  // The origin a checkpoint must carry follows from the caller's key and the tenant, never from
  // the file: the key name is the origin's prefix (tlog-checkpoint: key name SHOULD be the origin).
  const origins = auditOrigins(verifiers, tenant);
  if (origin !== origins.merkle && origin !== origins.chain)
    return fail(
      0,
      `the header's origin ${JSON.stringify(origin)} is not ${JSON.stringify(origins.merkle)}, the log this key signs for tenant ${tenant}`,
    );
  const tree = startTree(fromSeq, header.data.start_subtrees ?? null);
  const witnessPolicy = options.witnesses && (await parseWitnessPolicy(options.witnesses));
  if (typeof witnessPolicy === "string") return fail(0, witnessPolicy);
  let witnessed: { size: number; cosignedBy: string[] } | null = null;
  let witnessMiss = "no checkpoint in the export";
  let prevHash: string;
  if (fromSeq === 1) {
    prevHash = await genesisHash(tenant);
    if (header.data.start_prev_hash !== null && header.data.start_prev_hash !== prevHash)
      return fail(1, "the header's start hash is not the tenant's genesis hash");
  } else if (header.data.start_prev_hash === null) {
    return fail(fromSeq, `the header does not give the hash of seq ${fromSeq - 1}`);
  } else {
    // Untrusted, like every hash in the file: a checkpoint at or after fromSeq anchors the range.
    prevHash = header.data.start_prev_hash;
  }

  const memory = await MemoryCheck.load(options.memory, origins);
  let batch: StoredAuditEntry[] = [];
  let batchStart = fromSeq;
  let pending: ChainHead[] = [];
  let checkpoints = 0;
  const newest: Partial<Record<CheckpointFormat, RememberedCheckpoint>> = {};
  let signedThrough = 0;
  // The seq the last entry line claims (checked by the chain); a checkpoint must follow its entry.
  let lastEntrySeq = fromSeq - 1;
  const flush = async () => {
    if (batch.length === 0) return null;
    // Each verified entry's leaf hash (a v2 entry's verified hash itself) goes into the tree.
    const onVerified =
      typeof tree === "string"
        ? undefined
        : async (leaf: Uint8Array) => {
            await tree.append(leaf);
            await memory.seeRoot(tree);
          };
    const result = await verifyChain(batch, prevHash, batchStart, { tenant, anchors: pending, onVerified });
    if (!result.ok) return result;
    // The chain is verified here, so the stored hash at the remembered size is the recomputed one.
    memory.seeChain(batchStart, batch);
    prevHash = result.head.hash;
    batchStart = result.head.seq + 1;
    pending = pending.filter((a) => a.seq >= batchStart);
    batch = [];
    return null;
  };

  for await (const line of source) {
    const json = parseJson(line);
    const nextSeq = batchStart + batch.length;
    const entry = asEntryLine(json);
    if (entry.success) {
      if (entry.data.seq !== entry.data.entry.seq)
        return fail(entry.data.seq, "the line's seq differs from its entry's seq");
      if (batch.length >= batchSize) {
        const bad = await flush();
        if (bad) return bad;
      }
      batch.push({
        entry: entry.data.entry,
        hash: entry.data.hash,
        text: entryLineText(line, entry.data.seq, entry.data.hash),
      });
      lastEntrySeq = entry.data.seq;
      continue;
    }
    const cp = AuditExportCheckpointSchema.safeParse(json);
    if (!cp.success) return fail(nextSeq, `a line after seq ${nextSeq - 1} is neither an entry nor a checkpoint`);
    const opened = await openAuditCheckpoint(cp.data.note, verifiers, tenant);
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
    if (opened.format === "chain") {
      if (size === batchStart - 1 && hash !== prevHash)
        return fail(size, `hash differs from the signed checkpoint of size ${size}`);
      if (size >= batchStart) pending.push({ seq: size, hash });
    } else {
      const bad = await flush();
      if (bad) return bad;
      if (typeof tree === "string") return fail(size, tree);
      if (toHex(await tree.root()) !== hash)
        return fail(size, `entries 1..${size} do not have the Merkle root signed in the checkpoint of size ${size}`);
      if (witnessPolicy) {
        const check = await checkWitnesses(cp.data.note, verifiers, origins.merkle, witnessPolicy);
        if (check.ok) witnessed = { size, cosignedBy: check.cosignedBy };
        else witnessMiss = `checkpoint ${size}: ${check.reason}`;
      }
    }
    newest[opened.format] = { origin: origins[opened.format], size, hash, note: cp.data.note };
    checkpoints++;
    signedThrough = Math.max(signedThrough, size);
  }
  const bad = await flush();
  if (bad) return bad;
  const toSeq = batchStart - 1;
  if (signedThrough > toSeq)
    return fail(toSeq + 1, `a signed checkpoint covers ${signedThrough} entries but the export ends at seq ${toSeq}`);
  const unsignedTail = toSeq - Math.max(signedThrough, fromSeq - 1);
  if (checkpoints === 0 && toSeq >= fromSeq) {
    return {
      ok: false,
      seq: fromSeq,
      reason: `no checkpoint signed by the key covers any of the ${unsignedTail} entries (fabricated, stripped or truncated export)`,
      unsignedTail,
    };
  }
  if (unsignedTail > 0 && options.allowUnsignedTail !== true) {
    return {
      ok: false,
      seq: toSeq - unsignedTail + 1,
      reason: `the last ${unsignedTail} entries (from seq ${toSeq - unsignedTail + 1}) are not covered by a signed checkpoint`,
      unsignedTail,
    };
  }
  if (witnessPolicy) {
    const through = witnessed?.size ?? fromSeq - 1;
    const unwitnessed = toSeq - Math.max(through, fromSeq - 1);
    if (witnessed === null && toSeq >= fromSeq)
      return {
        ok: false,
        seq: fromSeq,
        reason: `no checkpoint is cosigned by ${witnessPolicy.quorum} of the ${witnessPolicy.keys.length} trusted witnesses (${witnessMiss})`,
        unsignedTail: unwitnessed,
      };
    if (unwitnessed > 0 && options.allowUnsignedTail !== true) {
      return {
        ok: false,
        seq: through + 1,
        reason: `the last ${unwitnessed} entries (from seq ${through + 1}) are not covered by a checkpoint cosigned by ${witnessPolicy.quorum} trusted witnesses (${witnessMiss})`,
        unsignedTail: unwitnessed,
      };
    }
  }
  await memory.check(signedThrough, toSeq, header.data.to_seq === null);
  await memory.update(newest);
  const witnessReport = witnessPolicy
    ? { witnessedThrough: witnessed?.size ?? 0, cosignedBy: witnessed?.cosignedBy ?? [] }
    : {};
  const tail = witnessPolicy
    ? Math.max(unsignedTail, toSeq - Math.max(witnessed?.size ?? 0, fromSeq - 1))
    : unsignedTail;
  return {
    ok: true,
    tenant,
    entries: toSeq - fromSeq + 1,
    fromSeq,
    toSeq,
    head: prevHash,
    checkpoints,
    signedThrough,
    unsignedTail: tail,
    ...witnessReport,
  };
}
