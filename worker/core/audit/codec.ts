/**
 * The audit codec: the one implementation of the per-tenant hash chain (DESIGN.md "Audit log").
 * It builds an entry from its fields, canonicalises it (RFC 8785), hashes it, and verifies a
 * range of stored entries. The Durable Object (durable-objects/audit/append.ts, query.ts), the
 * SDK's offline verifier (sdk/audit-verify.ts) and the tests all call these functions.
 *
 * - Entry bytes: RFC 8785 canonical JSON of the {@link AuditEntry}, UTF-8.
 * - `hash` = lowercase hex SHA-256 of {@link entryHashInput}: for a v2 entry (every entry written
 *   now) 0x00 ‖ its bytes, i.e. its RFC 6962 Merkle leaf hash; for a v1 entry its bytes alone.
 *   Each entry carries the previous entry's hash.
 * - The first entry's `prev_hash` is SHA-256(UTF-8("gv-audit-genesis:" + tenant id)).
 *
 * SHA-256 is a parameter, not a copy: by default WebCrypto (async, portable: Workers, Node,
 * browsers); the Durable Object passes node:crypto's synchronous hash (worker/core/crypto/
 * sha256-sync.ts) so an entry is built, hashed and stored inside one `transactionSync`. With a
 * synchronous hash the functions return plain values (`nextEntrySync`); with the default, promises.
 * This module imports no Node built-in, so the SDK can bundle it for the browser.
 */

import { z } from "zod";
import { bytesToHex } from "../crypto/encoding";
import { sha256, sha256Hex } from "../crypto/sha256";
import { canonicalBytes, canonicalize } from "./canonical-json";
import { leafHash, leafInput } from "./merkle";
import {
  AUDIT_ENTRY_VERSION,
  type AuditEntry,
  type AuditEntryVersion,
  auditEntrySchema,
  looksLikeAuditEntry,
} from "./entry";

/** A synchronous SHA-256, for callers inside `transactionSync`. */
export type SyncSha256 = (data: Uint8Array) => Uint8Array;

/** A synchronous lowercase-hex HMAC-SHA-256 under `key`. */
export type SyncHmacSha256Hex = (key: Uint8Array, data: Uint8Array | string) => string;

/** The last entry of a chain (or the starting point of a range): its seq and hex hash. */
export interface ChainHead {
  readonly seq: number;
  readonly hash: string;
}

/** An entry as read back from storage or an export, with the hash stored beside it. */
export interface StoredAuditEntry {
  /** Parsed entry JSON; `unknown` because storage is not trusted here, it is what is checked. */
  readonly entry: unknown;
  readonly hash: string;
  /**
   * The entry's text as the vault stored it, when the caller has it verbatim (an export line in
   * the exporter's layout). If those bytes hash to `hash` they are the ones checked, instead of
   * `entry` canonicalised again, so the result does not hang on the JSON parser that produced
   * `entry`: V8 as shipped in workerd misreads some escaped object keys after it has seen others
   * (docs/security-model.md "Platform"), which would make an intact entry look edited. Either way
   * the bytes must hash to `hash`, so a second form cannot pass. `entry` must be that text parsed.
   */
  readonly text?: string;
}

/** Everything the caller supplies for a new entry; the chain fills in v, seq and prev_hash. */
export type AuditFields = Omit<AuditEntry, "v" | "seq" | "prev_hash">;

/** A built entry: validated, with its canonical text and bytes and their hash. */
export interface SealedEntry {
  readonly entry: AuditEntry;
  /** RFC 8785 canonical JSON: what storage keeps and exports carry verbatim. */
  readonly text: string;
  /** UTF-8 of `text`: the entry's RFC 6962 leaf data (its hash input is {@link entryHashInput}). */
  readonly bytes: Uint8Array;
  /** Lowercase hex of {@link digest}. */
  readonly hash: string;
  /** The hash as bytes: for the v2 entries built here, the entry's RFC 6962 Merkle leaf hash. */
  readonly digest: Uint8Array;
}

/** Result of {@link verifyChain}: the verified head, or the first bad seq and why. */
export type ChainVerification =
  | { readonly ok: true; readonly count: number; readonly head: ChainHead }
  | { readonly ok: false; readonly seq: number; readonly reason: string };

/** Options for {@link verifyChain}. */
export interface VerifyChainOptions {
  /** Every entry must belong to this tenant. Default: the tenant of the first entry. */
  readonly tenant?: string;
  /**
   * Heads known from verified signed checkpoints (size = seq). An entry whose hash differs
   * from an anchor at its seq is reported there, which catches an edit whose author also
   * recomputed every later hash.
   */
  readonly anchors?: readonly ChainHead[];
  /**
   * Called with each entry's RFC 6962 leaf hash once the entry has verified, in order, so a
   * verifier building the Merkle tree need not canonicalise or, for a v2 entry, hash it again.
   */
  readonly onVerified?: (leaf: Uint8Array) => void | Promise<void>;
}

const GENESIS_PREFIX = "gv-audit-genesis:";
const HMAC_FIELD_PREFIX = "hmac-sha256:";
const encoder = new TextEncoder();

/**
 * An entry line of an export (`ghostvault-audit-export/v1`): the stored canonical text verbatim
 * after a fixed prefix, so a verifier can cut out exactly the bytes the vault hashed
 * ({@link entryLineText}). The exporter (durable-objects/audit/query.ts) writes it.
 */
export function entryLine(seq: number, hash: string, text: string): string {
  return `${entryLinePrefix(seq, hash)}${text}}`;
}

/** The entry text of a line laid out as {@link entryLine} writes it, or undefined for any other layout. */
export function entryLineText(line: string, seq: number, hash: string): string | undefined {
  const prefix = entryLinePrefix(seq, hash);
  return line.startsWith(prefix) && line.endsWith("}") ? line.slice(prefix.length, -1) : undefined;
}

function entryLinePrefix(seq: number, hash: string): string {
  return `{"kind":"entry","seq":${seq},"hash":${JSON.stringify(hash)},"entry":`;
}

/** Lowercase hex SHA-256 of UTF-8("gv-audit-genesis:" + tenantId): the prev_hash of seq 1. */
export function genesisHash(tenantId: string): Promise<string>;
export function genesisHash(tenantId: string, sha: SyncSha256): string;
export function genesisHash(tenantId: string, sha?: SyncSha256): string | Promise<string> {
  const input = encoder.encode(GENESIS_PREFIX + tenantId);
  return sha ? bytesToHex(sha(input)) : sha256Hex(input);
}

/**
 * The bytes an entry is hashed over: its RFC 8785 canonical JSON in UTF-8.
 * @throws CanonicalJsonError if the entry holds a value JSON cannot represent.
 */
export function entryBytes(entry: AuditEntry): Uint8Array {
  return canonicalBytes(entry);
}

/**
 * What an entry's `hash` is the SHA-256 of, given its version and canonical bytes: v1 the bytes;
 * v2 0x00 ‖ the bytes, RFC 6962's leaf input, so the hash is also the entry's Merkle leaf hash and
 * appending or verifying an entry hashes it once instead of twice (issue 16). The prefix also
 * keeps the two versions' hashes apart: canonical JSON never starts with a zero byte.
 */
export function entryHashInput(v: AuditEntryVersion, bytes: Uint8Array): Uint8Array {
  return v === 1 ? bytes : leafInput(bytes);
}

/** Lowercase hex hash of an entry ({@link entryHashInput} of {@link entryBytes}). */
export function hashEntry(entry: AuditEntry): Promise<string> {
  return sha256Hex(entryHashInput(entry.v, entryBytes(entry)));
}

/**
 * Builds the entry that follows `prev` (or the tenant's first entry when `prev` is null),
 * validates it and returns it with its canonical text, bytes and hash, ready to be stored in the
 * same transaction as the state change it records.
 * @throws Error if the fields do not form a valid entry; the caller must then fail the request.
 */
export async function nextEntry(prev: ChainHead | null, fields: AuditFields): Promise<SealedEntry> {
  const built = build(fields, prev, prev ? prev.hash : await genesisHash(fields.tenant));
  const digest = await sha256(entryHashInput(built.entry.v, built.bytes));
  return { ...built, hash: bytesToHex(digest), digest };
}

/**
 * {@link nextEntry} with a synchronous SHA-256 (`sha`), for the Durable Object's append inside
 * `transactionSync`: the same entry, bytes and hash.
 * @throws Error if the fields do not form a valid entry.
 */
export function nextEntrySync(prev: ChainHead | null, fields: AuditFields, sha: SyncSha256): SealedEntry {
  const built = build(fields, prev, prev ? prev.hash : genesisHash(fields.tenant, sha));
  const digest = sha(entryHashInput(built.entry.v, built.bytes));
  return { ...built, hash: bytesToHex(digest), digest };
}

function build(fields: AuditFields, prev: ChainHead | null, prevHash: string): Omit<SealedEntry, "hash" | "digest"> {
  const candidate: AuditEntry = {
    ...fields,
    // Optional members left as `undefined` (`token_id: auth.tokenId`) mean "absent"; drop them
    // here, since RFC 8785 has no undefined and canonicalize would refuse the entry.
    actor: withoutUndefined({ ...fields.actor, agent: fields.actor.agent && withoutUndefined(fields.actor.agent) }),
    target: fields.target && withoutUndefined(fields.target),
    v: AUDIT_ENTRY_VERSION,
    seq: prev === null ? 1 : prev.seq + 1,
    prev_hash: prevHash,
  };
  // The hand check first (the append path's cost, issue 16); the schema only names what is wrong.
  const entry = looksLikeAuditEntry(candidate) ? candidate : validated(candidate);
  let text: string;
  try {
    // Refuses anything a caller smuggled in that JSON cannot carry (a detail the hand check left
    // to it); objects are strict, so nothing was dropped either way.
    text = canonicalize(entry);
  } catch (error) {
    validated(candidate);
    throw error;
  }
  return { entry, text, bytes: encoder.encode(text) };
}

/** The entry as the schema parses it, or the schema's account of what is wrong with it. */
function validated(candidate: AuditEntry): AuditEntry {
  const parsed = auditEntrySchema.safeParse(candidate);
  if (!parsed.success) throw new Error(`invalid audit entry: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** Where a range of the chain stands while it is walked: the seq and prev_hash the next entry needs. */
export interface ChainPosition {
  readonly seq: number;
  readonly prevHash: string;
  readonly tenant: string;
  /** True for the first entry of the range, whose prev_hash comes from outside it. */
  readonly first: boolean;
}

/**
 * Checks that an entry, already known to sit at `at.seq`, continues the chain: its tenant, its
 * prev_hash, its stored hash against the one recomputed from its bytes, and any signed
 * checkpoint at its seq. Returns why not, or null. Both verifiers (the offline
 * {@link verifyChain} and the Durable Object's `verifyAudit`) decide a link here.
 */
export function linkFault(
  entry: { readonly tenant: unknown; readonly prev_hash: unknown },
  at: ChainPosition,
  hashes: { readonly recomputed: string; readonly stored: string; readonly anchor: string | undefined },
): string | null {
  if (entry.tenant !== at.tenant) {
    return `entry belongs to tenant ${JSON.stringify(entry.tenant)}, not ${JSON.stringify(at.tenant)}`;
  }
  if (entry.prev_hash !== at.prevHash) {
    return at.first
      ? "prev_hash does not match the start of the range (genesis or previous head)"
      : `prev_hash does not match the hash of seq ${at.seq - 1} (seq ${at.seq - 1} or this entry was altered)`;
  }
  if (hashes.recomputed !== hashes.stored) return "stored hash does not match the entry's content";
  if (hashes.anchor !== undefined && hashes.anchor !== hashes.recomputed) {
    return `hash differs from the signed checkpoint of size ${at.seq}`;
  }
  return null;
}

/**
 * Recomputes a contiguous range of the chain, re-validating every entry and hashing its canonical
 * bytes (its verbatim `text` when given, else `entry` re-canonicalised), and reports the first
 * inconsistency.
 *
 * `startPrevHash` is the hash the first entry must point at (the genesis hash when starting at
 * seq 1, otherwise the trusted hash of seq `expectedStartSeq - 1`). Each row is checked, in
 * order, for: a valid entry; the expected seq; then {@link linkFault}.
 *
 * Where it reports:
 * - edited row, stored hash left alone: at that row (stored hash mismatch);
 * - edited row with its stored hash recomputed: at the next row, whose prev_hash no longer
 *   matches (the reason names the edited seq); with an anchor covering it, at the row itself;
 * - deleted row: at the missing seq; reordered rows: at the first seq out of place;
 * - inserted row reusing a seq: at that seq (two rows claim it);
 * - wrong genesis or start hash: at the first row.
 * A chain rewritten from the edit onward (every seq, prev_hash and hash recomputed) is only
 * caught by a signed checkpoint, passed in `options.anchors`. Anchors beyond the last row are not
 * checked here: to catch a truncated tail, the caller compares the returned head with the latest
 * checkpoint (head.seq must reach checkpoint.size).
 */
export async function verifyChain(
  rows: readonly StoredAuditEntry[],
  startPrevHash: string,
  expectedStartSeq: number,
  options: VerifyChainOptions = {},
): Promise<ChainVerification> {
  const anchors = new Map((options.anchors ?? []).map((a) => [a.seq, a.hash] as const));
  let tenant = options.tenant;
  let prevHash = startPrevHash;
  let expected = expectedStartSeq;
  const fail = (seq: number, reason: string): ChainVerification => ({ ok: false, seq, reason });
  for (const [i, row] of rows.entries()) {
    const parsed = auditEntrySchema.safeParse(row.entry);
    if (!parsed.success) {
      return fail(expected, `entry at position of seq ${expected} is malformed: ${z.prettifyError(parsed.error)}`);
    }
    const entry = parsed.data;
    if (entry.seq > expected) {
      const later = rows.slice(i + 1).some((r) => seqOf(r.entry) === expected);
      return fail(
        expected,
        later
          ? `seq ${expected} is out of order: found seq ${entry.seq} in its place`
          : `seq ${expected} is missing: the next entry is seq ${entry.seq}`,
      );
    }
    if (entry.seq < expected) {
      return fail(entry.seq, `seq ${entry.seq} appears again after seq ${expected - 1} (inserted or reordered entry)`);
    }
    tenant ??= entry.tenant;
    const text = row.text === undefined ? undefined : await hashed(encoder.encode(row.text), entry.v);
    const verbatim = text?.hex === row.hash ? text : undefined;
    let bytes: Uint8Array;
    try {
      bytes = verbatim?.bytes ?? entryBytes(entry);
    } catch (err) {
      return fail(expected, `entry cannot be canonicalised: ${err instanceof Error ? err.message : String(err)}`);
    }
    const { hex: recomputed, digest } = verbatim ?? (await hashed(bytes, entry.v));
    const at = { seq: expected, prevHash, tenant, first: i === 0 };
    const fault = linkFault(entry, at, { recomputed, stored: row.hash, anchor: anchors.get(expected) });
    if (fault) return fail(expected, fault);
    // The RFC 6962 leaf: a v2 entry's hash is it; a v1 entry's leaf is a hash of its own.
    if (options.onVerified) await options.onVerified(entry.v === 2 ? digest : await leafHash(sha256, bytes));
    prevHash = recomputed;
    expected++;
  }
  return { ok: true, count: rows.length, head: { seq: expected - 1, hash: prevHash } };
}

/**
 * An entry's bytes with their hash ({@link entryHashInput} for version `v`), as digest and hex. When
 * the caller has the entry's stored text (an export line) and its hex matches the stored hash,
 * those exact bytes are the ones checked; otherwise the entry is canonicalised from its parse: a
 * line re-serialised in the same layout (by a tool, a test fixture) is judged as it was before
 * verbatim text was used.
 */
async function hashed(
  bytes: Uint8Array,
  v: AuditEntryVersion,
): Promise<{ bytes: Uint8Array; digest: Uint8Array; hex: string }> {
  const digest = await sha256(entryHashInput(v, bytes));
  return { bytes, digest, hex: bytesToHex(digest) };
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** The seq an unvalidated entry claims, for the look-ahead that tells reordering from deletion. */
function seqOf(entry: unknown): unknown {
  return typeof entry === "object" && entry !== null ? (entry as { seq?: unknown }).seq : undefined;
}

/**
 * Pseudonymises a sensitive string for an audit entry (DESIGN.md: "sensitive strings as
 * hmac-sha256:<hex> under a per-tenant audit key"): equal inputs stay correlatable within a
 * tenant, the input cannot be recovered or brute-forced without the key. HMAC per RFC 2104;
 * the string is MACed as its UTF-8.
 * @param key HMAC-SHA-256 CryptoKey, or raw key bytes (at least 32, RFC 2104 §3: key length ≥ L).
 * @param hmac synchronous HMAC for callers inside `transactionSync`; default WebCrypto (async).
 */
export function hmacField(key: CryptoKey | Uint8Array, value: string): Promise<string>;
export function hmacField(key: Uint8Array, value: string, hmac: SyncHmacSha256Hex): string;
export function hmacField(
  key: CryptoKey | Uint8Array,
  value: string,
  hmac?: SyncHmacSha256Hex,
): string | Promise<string> {
  const tooShort = () => new Error("audit HMAC key must be at least 32 bytes");
  if (hmac && key instanceof Uint8Array) {
    if (key.length < 32) throw tooShort();
    return `${HMAC_FIELD_PREFIX}${hmac(key, value)}`;
  }
  return (async () => {
    if (key instanceof Uint8Array && key.length < 32) throw tooShort();
    const cryptoKey =
      key instanceof Uint8Array
        ? await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"])
        : key;
    const mac = await crypto.subtle.sign("HMAC", cryptoKey, encoder.encode(value));
    return `${HMAC_FIELD_PREFIX}${bytesToHex(new Uint8Array(mac))}`;
  })();
}
