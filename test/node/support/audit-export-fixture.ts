/**
 * Synthetic audit exports for offline-verification tests: a real chain (worker/core/audit/codec.ts),
 * real signed checkpoints (C2SP signed notes) under a key made here, in the
 * `ghostvault-audit-export/v1` line format. No vault needed, so each attack is cheap to build.
 */

import { createHash } from "node:crypto";
import { genesisHash, hashEntry, nextEntry, type ChainHead } from "../../../worker/core/audit/codec";
import { signCheckpoint } from "../../../worker/core/audit/checkpoint";
import { canonicalBytes } from "../../../worker/core/audit/canonical-json";
import { toBase64, toHex } from "../../../worker/core/audit/encoding";
import {
  leafHash,
  prefixSubtrees,
  storedHashesForLeaf,
  treeHash,
  type MerkleHash,
} from "../../../worker/core/audit/merkle";
import type { AuditEntry } from "../../../worker/core/audit/entry";
import { createSigner, verifierKey, type NoteSigner } from "../../../worker/core/audit/signed-note";
import { cosign, type Cosigner } from "../../../worker/core/audit/cosignature";

/** The key name a vault at `vault.test` signs hash-chain checkpoints under; origins are `<key name>/<tenant>`. */
export const KEY_NAME = "vault.test/audit";
/** The key name of Merkle checkpoints (the same key), since the cut-over. */
export const MERKLE_KEY_NAME = "vault.test/audit/v2";

const sha256 = (data: Uint8Array): MerkleHash => new Uint8Array(createHash("sha256").update(data).digest());

/** The tree of an export's entries, as the Durable Object stores it (tlog layout). */
class Tree {
  readonly stored: MerkleHash[] = [];
  readonly read = (indexes: readonly number[]) => indexes.map((i) => this.stored[i]!);
  size = 0;
  add(entry: unknown): void {
    this.stored.push(...storedHashesForLeaf(sha256, this.size, leafHash(sha256, canonicalBytes(entry)), this.read));
    this.size++;
  }
  root(size: number): string {
    return toHex(treeHash(sha256, size, this.read));
  }
}

/** A signing key and its verifier key string. */
export interface TestKey {
  signer: NoteSigner;
  vkey: string;
  seedHex: string;
}

/** A key from a fixed seed byte, so tests are reproducible. */
export async function testKey(seedByte: number, name = KEY_NAME): Promise<TestKey> {
  const seedHex = seedByte.toString(16).padStart(2, "0").repeat(32);
  const signer = await createSigner(seedHex, name);
  return { signer, vkey: await verifierKey(signer.name, signer.publicKey), seedHex };
}

/**
 * The export of a window: `lines` cut to start at `fromSeq`, the header giving the hash before
 * it and the Merkle subtrees before it (`start_subtrees`), as the vault writes a window export.
 */
export function windowOf(lines: readonly string[], fromSeq: number): string[] {
  const header = JSON.parse(lines[0]!) as Record<string, unknown>;
  const entries = lines
    .slice(1)
    .map((l) => JSON.parse(l) as { kind: string; seq?: number; size?: number; hash?: string; entry?: unknown });
  const tree = new Tree();
  for (const e of entries) if (e.kind === "entry" && e.seq! < fromSeq) tree.add(e.entry);
  const before = entries.find((e) => e.kind === "entry" && e.seq === fromSeq - 1)!;
  const kept = lines
    .slice(1)
    .filter((_, i) => (entries[i]!.kind === "entry" ? entries[i]!.seq! : entries[i]!.size!) >= fromSeq);
  const start = prefixSubtrees(fromSeq - 1, tree.read).map(toBase64);
  return [
    JSON.stringify({ ...header, from_seq: fromSeq, start_prev_hash: before.hash, start_subtrees: start }),
    ...kept,
  ];
}

/** An export entry line as a tamperer would edit it. */
export interface EntryLine {
  kind: "entry";
  seq: number;
  hash: string;
  entry: { -readonly [K in keyof AuditEntry]: AuditEntry[K] };
}

/** Options of {@link buildExport}. */
export interface BuildExportOptions {
  tenant?: string;
  /** Entries in the log. */
  size: number;
  /** Checkpoint sizes to sign (each written right after its entry). */
  checkpoints: number[];
  key: TestKey;
  /** Origin written into the header and the checkpoints. Default `<key name>/<tenant>`. */
  origin?: string;
  /** Another history from this seq on, consistently re-signed: what a vault showing a fork would export. */
  forkAt?: number;
  /** The header's `to_seq` (null: an export to the head). */
  toSeq?: number | null;
  /**
   * Checkpoint sizes from which on checkpoints are Merkle ones (origin `<host>/audit/v2/<tenant>`,
   * RFC 6962 root, key name `vault.test/audit/v2`): 1 for a log created after the cut-over.
   * Default: none (hash-chain checkpoints only, as before the cut-over).
   */
  merkleFrom?: number;
}

/** A chain of `size` entries and its export lines (header first). */
export async function buildExport(options: BuildExportOptions): Promise<string[]> {
  const tenant = options.tenant ?? "t_fixture";
  const origin = options.origin ?? `${options.key.signer.name}/${tenant}`;
  const lines = [
    JSON.stringify({
      kind: "header",
      format: "ghostvault-audit-export/v1",
      tenant,
      origin,
      key_name: options.key.signer.name,
      verifier_key: options.key.vkey,
      from_seq: 1,
      to_seq: options.toSeq ?? null,
      start_prev_hash: await genesisHash(tenant),
    }),
  ];
  const merkleSigner =
    options.merkleFrom === undefined ? null : await createSigner(options.key.seedHex, MERKLE_KEY_NAME);
  const tree = new Tree();
  let head: ChainHead | null = null;
  for (let seq = 1; seq <= options.size; seq++) {
    const { entry, hash } = await nextEntry(head, {
      tenant,
      ts: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(),
      type: "lease.created",
      actor: { identity: "agent:fixture@test", token_id: "tok_fixture" },
      target: { kind: "credential", id: "cred_fixture" },
      outcome: "success",
      request_id: `req-${seq}`,
      details: options.forkAt !== undefined && seq >= options.forkAt ? { n: seq, forked: true } : { n: seq },
    });
    head = { seq, hash };
    lines.push(JSON.stringify({ kind: "entry", seq, hash, entry }));
    tree.add(entry);
    if (!options.checkpoints.includes(seq)) continue;
    const note =
      merkleSigner !== null && seq >= options.merkleFrom!
        ? await signCheckpoint(merkleSigner, {
            origin: options.origin ?? `${MERKLE_KEY_NAME}/${tenant}`,
            size: seq,
            hash: tree.root(seq),
          })
        : await signCheckpoint(options.key.signer, { origin, size: seq, hash });
    lines.push(JSON.stringify({ kind: "checkpoint", size: seq, note }));
  }
  return lines;
}

/** Index of the entry line of `seq`. */
export function entryIndex(lines: readonly string[], seq: number): number {
  return lines.findIndex((l) => l.startsWith(`{"kind":"entry","seq":${seq},`));
}

/**
 * Rewrites entries from `fromSeq` on with `edit`, recomputing every hash and link after it, as a
 * forger with the whole file would. Checkpoint lines are left as they are.
 */
export async function rewriteFrom(
  lines: readonly string[],
  fromSeq: number,
  edit: (e: EntryLine["entry"]) => void,
): Promise<string[]> {
  const copy = [...lines];
  let prev: string | null = null;
  for (let i = 0; i < copy.length; i++) {
    const line = JSON.parse(copy[i]!) as EntryLine | { kind: string };
    if (line.kind !== "entry") continue;
    const e = line as EntryLine;
    if (e.seq < fromSeq) {
      prev = e.hash;
      continue;
    }
    if (prev !== null) e.entry.prev_hash = prev;
    if (e.seq === fromSeq) edit(e.entry);
    e.hash = await hashEntry(e.entry);
    prev = e.hash;
    copy[i] = JSON.stringify(e);
  }
  return copy;
}

/**
 * Appends cosignature/v1 lines by `cosigners` to the checkpoint line of `size` (as a witness's
 * answer is appended to the note); `body` can swap the body they sign, to forge one.
 */
export async function cosignCheckpoint(
  lines: readonly string[],
  size: number,
  cosigners: readonly Cosigner[],
  body?: (b: string) => string,
): Promise<string[]> {
  const copy = [...lines];
  const at = entryIndex(copy, size) + 1;
  const cp = JSON.parse(copy[at]!) as { kind: string; size: number; note: string };
  const text = cp.note.slice(0, cp.note.indexOf("\n\n") + 1);
  let extra = "";
  for (const c of cosigners) extra += await cosign(c, body ? body(text) : text, 1_767_225_600);
  copy[at] = JSON.stringify({ ...cp, note: cp.note + extra });
  return copy;
}
