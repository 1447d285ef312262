import { z } from "zod";
import { type ChainHead, entryLine, genesisHash, linkFault } from "../../worker/core/audit/codec";
import { toBase64, toHex } from "../../worker/core/audit/encoding";
import { auditLogVerifiers, merkleCheckpointOrigin, openAuditCheckpoint } from "../../worker/core/audit/log-checkpoint";
import { CompactRange, prefixSubtrees } from "../../worker/core/audit/merkle";
import type {
  AuditPage,
  AuditQuery,
  AuditRange,
  AuditVerify,
  AuditVerifyQuery,
  CheckpointQuery,
  ExportPage,
} from "../../worker/contract/schemas/audit";
import type { VaultContext } from "../vault-context";
import { sha256HexSync, sha256Sync } from "../../worker/core/crypto/sha256-sync";
import { isHexOf } from "../../worker/core/crypto/encoding";
import { auditHead } from "./append";
import { auditPublicKey } from "../../worker/core/audit/signing-key";
import { checkpointAt, checkpointAtOrAfter, checkpointsBetween, freshCheckpoint, merkleCutover } from "./checkpoints";
import { hashReader, merkleSize, treeSha256 } from "./merkle-store";
import { witnessStatus } from "./witness-status";

const Row = z.object({
  seq: z.number().int(),
  ts: z.number().int(),
  type: z.string(),
  identity: z.string(),
  credential_id: z.string().nullable(),
  entry: z.string(),
  hash: z.string(),
});
type Row = z.output<typeof Row>;

/** Rows per SQLite read of the verify loop (shared with the bench baseline `benchAuditScan`). */
export const VERIFY_PAGE = 2000;

function rows(sql: SqlStorage, query: string, ...args: SqlStorageValue[]): Row[] {
  return sql
    .exec(query, ...args)
    .toArray()
    .map((r) => Row.parse(r));
}

/** GET /v1/audit: entries matching every given filter, oldest first, paginated by seq. */
export function queryAudit(ctx: VaultContext, q: AuditQuery): AuditPage {
  const where = ["seq >= ?", "seq <= ?"];
  const args: SqlStorageValue[] = [q.from_seq ?? 1, q.to_seq ?? Number.MAX_SAFE_INTEGER];
  if (q.since) where.push("ts >= ?"), args.push(Date.parse(q.since));
  if (q.until) where.push("ts <= ?"), args.push(Date.parse(q.until));
  if (q.type) where.push("type = ?"), args.push(q.type);
  if (q.identity) where.push("identity = ?"), args.push(q.identity);
  if (q.credential) where.push("credential_id = ?"), args.push(q.credential);
  const found = rows(
    ctx.sql,
    `SELECT * FROM audit WHERE ${where.join(" AND ")} ORDER BY seq LIMIT ?`,
    ...args,
    q.limit + 1,
  );
  const page = found.slice(0, q.limit);
  return {
    items: page.map((r) => ({ seq: r.seq, hash: r.hash, entry: JSON.parse(r.entry) as Record<string, unknown> })),
    next_from_seq: found.length > q.limit ? found[q.limit]!.seq : null,
  };
}

/** The hash the entry at `fromSeq` must point at: genesis for 1, else the stored hash before it. */
function startHash(ctx: VaultContext, fromSeq: number): string | null {
  if (fromSeq === 1) return genesisHash(ctx.tenantId, sha256Sync);
  const prev = rows(ctx.sql, "SELECT * FROM audit WHERE seq = ?", fromSeq - 1)[0];
  return prev ? prev.hash : null;
}

/**
 * Checks one stored row against the chain: it sits at the expected seq, is a v1 or v2 entry whose
 * seq matches the row, then the codec's link check (tenant, prev_hash, stored hash against the
 * hash recomputed from the stored bytes, signed checkpoint at its seq), and its indexed columns
 * agree with the entry. Returns the entry's RFC 6962 leaf hash, or why the row fails.
 * Hashing the stored bytes directly, which are the canonical bytes hashed at append time, instead
 * of re-validating and re-canonicalising each entry, keeps verification near the cost of SHA-256
 * itself; the offline verifier (sdk/audit-verify.ts, the codec's `verifyChain`) does the full
 * re-canonicalising check. `input` is 0x00 ‖ the entry's UTF-8: a v2 entry's hash input, and
 * every entry's leaf input (codec.ts `entryHashInput`), so a v2 entry is hashed once.
 */
function checkRow(
  tenantId: string,
  r: Row,
  input: Uint8Array,
  seq: number,
  first: boolean,
  prevHash: string,
  anchor: string | undefined,
): Uint8Array | string {
  if (typeof r.entry !== "string" || typeof r.hash !== "string") return "row is not an audit row";
  if (r.seq !== seq) return r.seq > seq ? "entry missing" : "entry out of order";
  let e: {
    v?: unknown;
    tenant?: unknown;
    seq?: unknown;
    type?: unknown;
    actor?: { identity?: unknown };
    ts?: unknown;
    prev_hash?: unknown;
  };
  try {
    e = JSON.parse(r.entry) as typeof e;
  } catch {
    return "entry is not JSON";
  }
  if (e.v !== 1 && e.v !== 2) return "entry is neither a v1 nor a v2 entry";
  if (e.seq !== seq) return "row seq differs from the entry's seq";
  // node:crypto, the one call the bench floor (`benchAuditScan`) makes per entry too.
  const leaf = sha256Sync(input);
  const recomputed = e.v === 1 ? sha256HexSync(input.subarray(1)) : isHexOf(leaf, r.hash) ? r.hash : toHex(leaf);
  const fault = linkFault(
    { tenant: e.tenant, prev_hash: e.prev_hash },
    { seq, prevHash, tenant: tenantId, first },
    { recomputed, stored: r.hash, anchor },
  );
  if (fault) return fault;
  if (e.type !== r.type || e.actor?.identity !== r.identity) return "indexed columns differ from the entry";
  if (typeof e.ts !== "string" || Date.parse(e.ts) !== r.ts) return "indexed timestamp differs from the entry";
  return leaf;
}

/**
 * 0x00 ‖ UTF-8 of a text, encoded into one buffer reused for every entry of a verification
 * (hashing node:crypto's way from a string costs more than encoding once and hashing the bytes;
 * the bench floor `benchAuditScan` encodes the same way). Each result is valid until the next call.
 */
export function leafInputWriter(): (text: string) => Uint8Array {
  const encoder = new TextEncoder();
  let buffer = new Uint8Array(4096);
  return (text) => {
    if (buffer.length < text.length * 3 + 1) buffer = new Uint8Array(text.length * 3 + 1);
    return buffer.subarray(0, 1 + encoder.encodeInto(text, buffer.subarray(1)).written);
  };
}

/**
 * The recomputed Merkle root of entries 1..n while verifying from `from`: the complete subtrees
 * before `from` come from the stored tree, every leaf from `from` on is hashed from the entry.
 * A rewritten stored prefix cannot make a rewritten range match a signed root (that would need a
 * SHA-256 collision), so the signed root vouches for the range.
 */
function rangeFrom(sql: SqlStorage, from: number): CompactRange | string {
  if (merkleSize(sql) < from - 1)
    return `the audit Merkle tree holds fewer than the ${from - 1} entries before the range`;
  try {
    return new CompactRange(treeSha256, from - 1, prefixSubtrees(from - 1, hashReader(sql)));
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/**
 * GET /v1/audit/verify: verifies every checkpoint signature in the range, then recomputes the
 * chain page by page with the checkpoints as anchors (a hash-chain checkpoint's head, a Merkle
 * checkpoint's RFC 6962 root recomputed from the entries), and checks that no checkpoint claims
 * more entries than exist (truncation) and that no hash-chain checkpoint lies past the tenant's
 * Merkle cut-over. Strict: the range must be covered by a verified checkpoint (when it ends
 * before the head, the chain is recomputed up to the first checkpoint past its end); entries
 * after the last one are an unsigned tail, refused unless `allow_unsigned_tail`, and always
 * counted in the answer.
 */
export async function verifyAudit(ctx: VaultContext, range: AuditVerifyQuery): Promise<AuditVerify> {
  const head = auditHead(ctx.sql);
  const headSeq = head?.seq ?? 0;
  const from = range.from_seq ?? 1;
  const to = Math.min(range.to_seq ?? Number.MAX_SAFE_INTEGER, headSeq);
  const { vkey } = await auditPublicKey(ctx.config.AUDIT_SIGNING_KEY, ctx.config.AUDIT_HOST);
  const verifiers = (await auditLogVerifiers(vkey))!;
  const cutover = merkleCutover(ctx.sql);
  const anchors: ChainHead[] = [];
  const roots = new Map<number, string>();
  const checkpoints = checkpointsBetween(ctx.sql, from, range.to_seq ?? Number.MAX_SAFE_INTEGER);
  if (to >= from && (checkpoints.at(-1)?.size ?? 0) < to) {
    const cover = checkpointAtOrAfter(ctx.sql, to + 1);
    if (cover) checkpoints.push(cover);
  }
  for (const cp of checkpoints) {
    const opened = await openAuditCheckpoint(cp.note, verifiers, ctx.tenantId);
    if (!opened.ok) return { ok: false, seq: cp.size, reason: `checkpoint ${cp.size}: ${opened.reason}` };
    if (opened.checkpoint.size !== cp.size)
      return { ok: false, seq: cp.size, reason: "checkpoint row size differs from its signed size" };
    if (cp.size > headSeq)
      return {
        ok: false,
        seq: headSeq + 1,
        reason: `a signed checkpoint covers ${cp.size} entries but the log ends at ${headSeq}`,
      };
    if (opened.format === "chain" && cutover !== null && cp.size > cutover)
      return {
        ok: false,
        seq: cp.size,
        reason: `a hash-chain checkpoint of size ${cp.size} lies past the Merkle cut-over at ${cutover}`,
      };
    if (opened.format === "merkle") roots.set(cp.size, opened.checkpoint.hash);
    else anchors.push({ seq: cp.size, hash: opened.checkpoint.hash });
  }
  const signedThrough = checkpoints.at(-1)?.size ?? 0;
  // Witness status (informational) on the checkpoint that covers the range, when witnesses are configured.
  const witnesses =
    ctx.config.AUDIT_WITNESSES.length === 0
      ? {}
      : {
          witnesses: await witnessStatus(
            ctx,
            verifiers,
            merkleCheckpointOrigin(ctx.config.AUDIT_HOST, ctx.tenantId),
            checkpoints.at(-1),
          ),
        };
  const summary = {
    checkpoints: checkpoints.length,
    signed_through: signedThrough,
    merkle_cutover: cutover,
    ...witnesses,
  };
  if (to < from)
    return { ok: true, from_seq: from, to_seq: to, checked: 0, head: head?.hash ?? null, unsigned_tail: 0, ...summary };
  // Recompute through the covering checkpoint, so the signature vouches for every entry of the range.
  const end = Math.max(to, signedThrough);
  let prevHash = startHash(ctx, from);
  if (prevHash === null) return { ok: false, seq: from - 1, reason: "the entry before the range is missing" };
  const tree = roots.size === 0 ? null : rangeFrom(ctx.sql, from);
  if (typeof tree === "string") return { ok: false, seq: from, reason: tree };
  const anchorAt = new Map(anchors.map((a) => [a.seq, a.hash] as const));
  const leafInput = leafInputWriter();
  let checked = 0;
  let rangeHead = prevHash;
  for (let at = from; at <= end; at += VERIFY_PAGE) {
    // Read raw: checkRow checks every field it uses, so a per-row zod parse would only add cost.
    const page = ctx.sql.exec<Row>(
      "SELECT * FROM audit WHERE seq >= ? AND seq <= ? ORDER BY seq",
      at,
      Math.min(end, at + VERIFY_PAGE - 1),
    );
    for (const r of page) {
      const expected = from + checked;
      // Encoded once, used before any await.
      const input = leafInput(typeof r.entry === "string" ? r.entry : "");
      const leaf = checkRow(ctx.tenantId, r, input, expected, checked === 0, prevHash, anchorAt.get(expected));
      if (typeof leaf === "string") return { ok: false, seq: expected, reason: leaf };
      if (tree) {
        // Synchronous over a synchronous hash, so no await per entry (merkle.ts CompactRange.append).
        const merging = tree.append(leaf);
        if (merging) await merging;
        const root = roots.get(expected);
        if (root !== undefined && toHex(await tree.root()) !== root)
          return {
            ok: false,
            seq: expected,
            reason: `entries 1..${expected} do not have the Merkle root the signed checkpoint of size ${expected} carries`,
          };
      }
      prevHash = r.hash;
      if (expected === to) rangeHead = r.hash;
      checked++;
    }
    if (from + checked <= Math.min(end, at + VERIFY_PAGE - 1))
      return { ok: false, seq: from + checked, reason: "entry missing" };
  }
  const unsignedTail = to - Math.max(signedThrough, from - 1);
  if (unsignedTail > 0 && range.allow_unsigned_tail !== true) {
    return {
      ok: false,
      seq: to - unsignedTail + 1,
      reason: `the last ${unsignedTail} entries of the range (from seq ${to - unsignedTail + 1}) are not covered by a signed checkpoint`,
      unsigned_tail: unsignedTail,
    };
  }
  // `checked` counts the range's entries; those recomputed past it, up to its checkpoint, are not reported.
  return {
    ok: true,
    from_seq: from,
    to_seq: to,
    checked: Math.min(checked, to - from + 1),
    head: rangeHead,
    unsigned_tail: Math.max(0, unsignedTail),
    ...summary,
  };
}

/**
 * One page of a JSON Lines export: a header line first (tenant, origin, verifier key and the
 * hash the range starts from), then entries with their hashes, each checkpoint after the entry
 * it covers. Enough to verify offline with only the public key.
 */
export async function exportAuditPage(
  ctx: VaultContext,
  range: AuditRange,
  after: number | null,
  limit: number,
): Promise<ExportPage> {
  const from = range.from_seq ?? 1;
  const to = range.to_seq ?? Number.MAX_SAFE_INTEGER;
  const lines: string[] = [];
  if (after === null) {
    const { keyName, vkey } = await auditPublicKey(ctx.config.AUDIT_SIGNING_KEY, ctx.config.AUDIT_HOST);
    const origin = merkleCheckpointOrigin(ctx.config.AUDIT_HOST, ctx.tenantId);
    // A window's Merkle roots need the complete subtrees before it (untrusted, like every hash
    // here: a wrong one cannot make the window match a signed root).
    const start =
      from > 1 && merkleSize(ctx.sql) >= from - 1 ? prefixSubtrees(from - 1, hashReader(ctx.sql)).map(toBase64) : null;
    lines.push(
      JSON.stringify({
        kind: "header",
        format: "ghostvault-audit-export/v1",
        tenant: ctx.tenantId,
        origin,
        key_name: keyName,
        verifier_key: vkey,
        from_seq: from,
        to_seq: range.to_seq ?? null,
        start_prev_hash: startHash(ctx, from),
        start_subtrees: start,
        merkle_cutover: merkleCutover(ctx.sql),
      }),
    );
  }
  const start = after === null ? from : after + 1;
  const page = rows(ctx.sql, "SELECT * FROM audit WHERE seq >= ? AND seq <= ? ORDER BY seq LIMIT ?", start, to, limit);
  const last = page[page.length - 1];
  const cps = last ? checkpointsBetween(ctx.sql, start, last.seq) : [];
  // The last page ends with a checkpoint of its last entry, signed now if none exists, so a
  // fresh export is covered in full and verifies strictly (no unsigned tail).
  const headSeq = auditHead(ctx.sql)?.seq ?? 0;
  const final = page.length < limit || (last !== undefined && last.seq >= Math.min(to, headSeq));
  if (final && last && cps.at(-1)?.size !== last.seq) cps.push(await checkpointAt(ctx, last.seq));
  const bySize = new Map(cps.map((c) => [c.size, c]));
  for (const r of page) {
    lines.push(entryLine(r.seq, r.hash, r.entry));
    const cp = bySize.get(r.seq);
    if (cp) lines.push(JSON.stringify({ kind: "checkpoint", size: cp.size, note: cp.note }));
  }
  return { lines, next_after: !final && last ? last.seq : null };
}

/**
 * GET /v1/audit/checkpoints: signed checkpoints whose size falls in the range; with `fresh`, the
 * head is signed first when no checkpoint covers it (see `freshCheckpoint` for the rate bound).
 */
export async function listCheckpoints(ctx: VaultContext, range: CheckpointQuery) {
  if (range.fresh === true) await freshCheckpoint(ctx);
  const items = checkpointsBetween(ctx.sql, range.from_seq ?? 0, range.to_seq ?? Number.MAX_SAFE_INTEGER).slice(-1000);
  return { items: items.map((c) => ({ size: c.size, created_at: new Date(c.ts).toISOString(), note: c.note })) };
}
