/**
 * The per-tenant audit hash chain (DESIGN.md "Audit log"): hash = SHA-256 of the entry's RFC 8785
 * bytes; each entry carries the previous entry's hash; the first carries the tenant's genesis
 * hash. Pure functions over values, so the Durable Object decides how rows are stored and these
 * decide what they must contain.
 */

import { z } from "zod";
import { canonicalBytes } from "./canonical-json";
import { sha256, toHex } from "./encoding";
import { AUDIT_ENTRY_VERSION, auditEntrySchema, type AuditEntry } from "./entry";

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
}

/** Everything the caller supplies for a new entry; the chain fills in v, seq and prev_hash. */
export type AuditFields = Omit<AuditEntry, "v" | "seq" | "prev_hash">;

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
}

const GENESIS_PREFIX = "gv-audit-genesis:";
const encoder = new TextEncoder();

/** Lowercase hex SHA-256 of UTF-8("gv-audit-genesis:" + tenantId): the prev_hash of seq 1. */
export async function genesisHash(tenantId: string): Promise<string> {
  return toHex(await sha256(encoder.encode(GENESIS_PREFIX + tenantId)));
}

/**
 * The bytes an entry is hashed over: its RFC 8785 canonical JSON in UTF-8.
 * @throws CanonicalJsonError if the entry holds a value JSON cannot represent.
 */
export function entryBytes(entry: AuditEntry): Uint8Array {
  return canonicalBytes(entry);
}

/** Lowercase hex SHA-256 of {@link entryBytes}. */
export async function hashEntry(entry: AuditEntry): Promise<string> {
  return toHex(await sha256(entryBytes(entry)));
}

/**
 * Builds the entry that follows `prev` (or the tenant's first entry when `prev` is null),
 * validates it and returns it with its canonical bytes and hash, ready to be stored in the same
 * transaction as the state change it records.
 * @throws Error if the fields do not form a valid entry; the caller must then fail the request.
 */
export async function nextEntry(
  prev: ChainHead | null,
  fields: AuditFields,
): Promise<{ entry: AuditEntry; bytes: Uint8Array; hash: string }> {
  const candidate: AuditEntry = {
    ...fields,
    // Optional members left as `undefined` (`token_id: auth.tokenId`) mean "absent"; drop them
    // here, since RFC 8785 has no undefined and canonicalize would refuse the entry.
    actor: withoutUndefined({ ...fields.actor, agent: fields.actor.agent && withoutUndefined(fields.actor.agent) }),
    target: fields.target && withoutUndefined(fields.target),
    v: AUDIT_ENTRY_VERSION,
    seq: prev === null ? 1 : prev.seq + 1,
    prev_hash: prev === null ? await genesisHash(fields.tenant) : prev.hash,
  };
  const parsed = auditEntrySchema.safeParse(candidate);
  if (!parsed.success) throw new Error(`invalid audit entry: ${z.prettifyError(parsed.error)}`);
  // Hash the validated copy: zod has dropped nothing (objects are strict), and canonicalize
  // refuses anything a caller smuggled in that JSON cannot carry.
  const bytes = entryBytes(parsed.data);
  return { entry: parsed.data, bytes, hash: toHex(await sha256(bytes)) };
}

/**
 * Recomputes a contiguous range of the chain and reports the first inconsistency.
 *
 * `startPrevHash` is the hash the first entry must point at (the genesis hash when starting at
 * seq 1, otherwise the trusted hash of seq `expectedStartSeq - 1`). Each row is checked, in
 * order, for: a valid entry; the expected seq; the tenant; prev_hash equal to the previous
 * row's recomputed hash; the stored hash equal to the recomputed one; any anchor at that seq.
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
  for (const [i, row] of rows.entries()) {
    const fail = (seq: number, reason: string): ChainVerification => ({ ok: false, seq, reason });
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
    if (entry.tenant !== tenant) {
      return fail(expected, `entry belongs to tenant ${JSON.stringify(entry.tenant)}, not ${JSON.stringify(tenant)}`);
    }
    if (entry.prev_hash !== prevHash) {
      return fail(
        expected,
        i === 0
          ? "prev_hash does not match the start of the range (genesis or previous head)"
          : `prev_hash does not match the hash of seq ${expected - 1} (seq ${expected - 1} or this entry was altered)`,
      );
    }
    let hash: string;
    try {
      hash = await hashEntry(entry);
    } catch (err) {
      return fail(expected, `entry cannot be canonicalised: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (hash !== row.hash) return fail(expected, "stored hash does not match the entry's content");
    const anchor = anchors.get(expected);
    if (anchor !== undefined && anchor !== hash) {
      return fail(expected, `hash differs from the signed checkpoint of size ${expected}`);
    }
    prevHash = hash;
    expected++;
  }
  return { ok: true, count: rows.length, head: { seq: expected - 1, hash: prevHash } };
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
 * tenant, the input cannot be recovered or brute-forced without the key. HMAC per RFC 2104.
 * @param key HMAC-SHA-256 CryptoKey, or raw key bytes (at least 32, RFC 2104 §3: key length ≥ L).
 */
export async function hmacField(key: CryptoKey | Uint8Array, value: string): Promise<string> {
  let cryptoKey: CryptoKey;
  if (key instanceof Uint8Array) {
    if (key.length < 32) throw new Error("audit HMAC key must be at least 32 bytes");
    cryptoKey = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  } else {
    cryptoKey = key;
  }
  const mac = await crypto.subtle.sign("HMAC", cryptoKey, encoder.encode(value));
  return `hmac-sha256:${toHex(new Uint8Array(mac))}`;
}
