/**
 * Synthetic audit exports for offline-verification tests: a real chain (worker/core/audit/codec.ts),
 * real signed checkpoints (C2SP signed notes) under a key made here, in the
 * `ghostvault-audit-export/v1` line format. No vault needed, so each attack is cheap to build.
 */

import { genesisHash, hashEntry, nextEntry, type ChainHead } from "../../../worker/core/audit/codec";
import { signCheckpoint } from "../../../worker/core/audit/checkpoint";
import type { AuditEntry } from "../../../worker/core/audit/entry";
import { createSigner, verifierKey, type NoteSigner } from "../../../worker/core/audit/signed-note";

/** The key name a vault at `vault.test` signs under; origins are `<key name>/<tenant>`. */
export const KEY_NAME = "vault.test/audit";

/** A signing key and its verifier key string. */
export interface TestKey {
  signer: NoteSigner;
  vkey: string;
}

/** A key from a fixed seed byte, so tests are reproducible. */
export async function testKey(seedByte: number, name = KEY_NAME): Promise<TestKey> {
  const signer = await createSigner(seedByte.toString(16).padStart(2, "0").repeat(32), name);
  return { signer, vkey: await verifierKey(signer.name, signer.publicKey) };
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
}

/** A chain of `size` entries and its export lines (header first). */
export async function buildExport(options: BuildExportOptions): Promise<string[]> {
  const tenant = options.tenant ?? "t_fixture";
  const origin = options.origin ?? `${options.key.signer.name}/${tenant}`;
  const lines = [JSON.stringify({ kind: "header", format: "ghostvault-audit-export/v1", tenant, origin, key_name: options.key.signer.name, verifier_key: options.key.vkey, from_seq: 1, to_seq: options.toSeq ?? null, start_prev_hash: await genesisHash(tenant) })];
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
    if (options.checkpoints.includes(seq)) {
      lines.push(JSON.stringify({ kind: "checkpoint", size: seq, note: await signCheckpoint(options.key.signer, { origin, size: seq, hash }) }));
    }
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
export async function rewriteFrom(lines: readonly string[], fromSeq: number, edit: (e: EntryLine["entry"]) => void): Promise<string[]> {
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
