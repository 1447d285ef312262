import { z } from "zod";
import { allowsTestHooks, type Config } from "../worker/contract/config";
import { findCredentialWithCurrentVersion } from "../worker/core/db/credentials";
import { VaultError } from "../worker/contract/errors";
import { newId } from "../worker/core/ids";
import { CredentialRefSchema } from "../worker/contract/schemas/credentials";
import { credentialTarget, record } from "./audit/record";
import { sha256HexSync } from "../worker/core/crypto/sha256-sync";
import { auditHead } from "./audit/append";
import { leafInputWriter, VERIFY_PAGE } from "./audit/query";
import { appendMerkleLeaf, entryLeafHash, MERKLE_BENCH_SKIP } from "./audit/merkle-store";
import { insertLease } from "./storage/leases";
import { iso, type Actor, type VaultContext } from "./vault-context";

/**
 * The test and benchmark surface of the TenantVault, behind one gate: the `TEST_HOOKS` setting,
 * which production configuration refuses (worker/contract/config.ts). The Durable Object's test-only RPC
 * methods check it first thing and then only call into this file, so the production object holds
 * no test logic; the bench routes (worker/routes/bench.ts) answer 404 without it.
 */

/**
 * Refuses unless TEST_HOOKS is on. A plain Error, not a VaultError: a caller reaching a hook in a
 * deployment without the gate is a bug or a probe, never a client to explain anything to.
 */
export function requireTestHooks(config: Pick<Config, "TEST_HOOKS">, hook: string): void {
  if (!allowsTestHooks(config)) throw new Error(`${hook} is refused unless TEST_HOOKS is on`);
}

/** A fixed clock for the object, or null for real time. */
export const ClockSchema = z.number().int().nonnegative().nullable();

/** Benchmark baseline `do-insert`: one SQLite insert into `bench_rows`, nothing else. */
export function benchInsert(sql: SqlStorage): number {
  return sql.exec("INSERT INTO bench_rows (at) VALUES (?)", Date.now()).rowsWritten;
}

/**
 * Bench hook (bench/merkle.mjs): the lease baseline without the Merkle update. While on, this
 * tenant's appends skip the tree (which the alarm later rebuilds from the entries).
 */
export function benchMerkleSkip(tenantId: string, skip: boolean): void {
  if (skip) MERKLE_BENCH_SKIP.add(tenantId);
  else MERKLE_BENCH_SKIP.delete(tenantId);
}

/**
 * Bench hook (bench/merkle.mjs): appends `count` small synthetic rows to the audit table and their
 * leaves to the Merkle tree with the append path's own tree code, in one transaction, so a tree of
 * a million entries is seeded in seconds. The rows are not valid audit entries: bench tenants only.
 */
export function benchSeedAudit(storage: DurableObjectStorage, count: number): { size: number } {
  if (!Number.isSafeInteger(count) || count < 1 || count > 200_000)
    throw new VaultError("validation_failed", "count must be 1 to 200000");
  return storage.transactionSync(() => {
    const sql = storage.sql;
    const head = auditHead(sql)?.seq ?? 0;
    for (let seq = head + 1; seq <= head + count; seq++) {
      const text = `{"bench":${seq}}`;
      sql.exec(
        "INSERT INTO audit (seq, ts, type, identity, credential_id, entry, hash) VALUES (?, 0, 'bench.seed', 'bench', NULL, ?, ?)",
        seq,
        text,
        sha256HexSync(text),
      );
      appendMerkleLeaf(sql, seq, entryLeafHash(text));
    }
    return { size: head + count };
  });
}

/** What {@link benchAuditScan} read and hashed. */
export interface AuditScan {
  /** Rows read. */
  rows: number;
  /** UTF-16 code units of stored entry text hashed (the entries are ASCII-escaped JSON, so bytes in practice). */
  chars: number;
  /** Rows whose stored hash differs from SHA-256 of their stored bytes (0 on an intact log). */
  mismatches: number;
}

/**
 * Bench hook, the floor of `GET /v1/audit/verify` (issue 16 goal 3): reads the same audit rows
 * from the object's SQLite, in the same pages and with the same query as the verify loop, and
 * SHA-256s each stored entry against its stored hash, with nothing else (no JSON parse, no link,
 * checkpoint or Merkle check). It encodes and hashes as verify does, the fastest way in workerd
 * (UTF-8 into a reused buffer, node:crypto over the bytes), and hashes what a v2 entry's hash is
 * taken over (0x00 ‖ bytes), so it needs the bench log to be v2. Verify ÷ this is what the checks
 * cost over reading and hashing.
 */
export function benchAuditScan(sql: SqlStorage, fromSeq: number, toSeq: number): AuditScan {
  if (!Number.isSafeInteger(fromSeq) || !Number.isSafeInteger(toSeq) || fromSeq < 1 || toSeq < fromSeq)
    throw new VaultError("validation_failed", "from_seq and to_seq must be integers with 1 ≤ from_seq ≤ to_seq");
  const out: AuditScan = { rows: 0, chars: 0, mismatches: 0 };
  const leafInput = leafInputWriter();
  // Clamped to the head, as verify does, so a huge to_seq does not loop over empty pages.
  const end = Math.min(toSeq, auditHead(sql)?.seq ?? 0);
  for (let at = fromSeq; at <= end; at += VERIFY_PAGE) {
    for (const r of sql.exec<{ entry: string; hash: string }>(
      "SELECT * FROM audit WHERE seq >= ? AND seq <= ? ORDER BY seq",
      at,
      Math.min(end, at + VERIFY_PAGE - 1),
    )) {
      out.rows++;
      out.chars += r.entry.length;
      if (sha256HexSync(leafInput(r.entry)) !== r.hash) out.mismatches++;
    }
  }
  return out;
}

/** The input of {@link seedLeases}, checked at the RPC boundary. */
export const SeedSchema = z.strictObject({
  credential: CredentialRefSchema,
  count: z.number().int().min(1).max(1_000_000),
  expiresAt: z.number().int(),
});

/** What a bulk seed creates. */
export interface SeedLeases {
  credential: string;
  count: number;
  /** Absolute deadline (ms) shared by every seeded lease. */
  expiresAt: number;
}

const SEED_BATCH = 1000;

/**
 * Creates many active leases with one deadline, each with its lease.created audit entry, without
 * decrypting anything, so 10k–1M-lease scenarios can be set up in seconds. Refused unless TEST_HOOKS.
 */
export async function seedLeases(ctx: VaultContext, actor: Actor, seed: SeedLeases): Promise<{ seeded: number }> {
  if (!ctx.config.TEST_HOOKS) throw new VaultError("forbidden", "bulk lease seeding is for tests and benchmarks only");
  const found = await findCredentialWithCurrentVersion(ctx.db, seed.credential);
  if (!found) throw new VaultError("not_found", "no such credential");
  const { credential, current } = found;
  const now = ctx.now();
  for (let done = 0; done < seed.count; done += SEED_BATCH) {
    ctx.storage.transactionSync(() => {
      for (let i = done; i < Math.min(seed.count, done + SEED_BATCH); i++) {
        const id = newId("lease");
        insertLease(ctx.sql, {
          id,
          credential_id: credential.id,
          credential_name: credential.name,
          version: current.version,
          identity: actor.identity,
          token_id: actor.tokenId,
          agent: null,
          purpose: "seed",
          issued_at: now,
          expires_at: seed.expiresAt,
          max_expires_at: seed.expiresAt,
          ttl: null,
        });
        record(ctx, actor, {
          type: "lease.created",
          target: credentialTarget(credential.id, current.version),
          details: {
            lease_id: id,
            credential_name: credential.name,
            ttl: Math.round((seed.expiresAt - now) / 1000),
            expires_at: iso(seed.expiresAt),
            purpose: "seed",
          },
        });
      }
    });
  }
  await ctx.scheduleAlarm(seed.expiresAt);
  return { seeded: seed.count };
}
