import { findCredentialWithCurrentVersion } from "../../worker/db/credentials";
import { VaultError } from "../../worker/errors";
import { newId } from "../../worker/ids";
import { credentialTarget, record } from "../audit/record";
import { insertLease } from "../storage/leases";
import { iso, type Actor, type VaultContext } from "../vault-context";

/** What a bulk seed creates. */
export interface SeedLeases {
  credential: string;
  count: number;
  /** Absolute deadline (ms) shared by every seeded lease. */
  expiresAt: number;
}

const SEED_BATCH = 1000;

/**
 * Tests and benchmarks only (ENVIRONMENT=test or BENCH_ENABLED): creates many active leases with
 * one deadline, each with its lease.created audit entry, without decrypting anything. It exists
 * so 10k–1M-lease scenarios can be set up in seconds; production config refuses BENCH_ENABLED.
 */
export async function seedLeases(ctx: VaultContext, actor: Actor, seed: SeedLeases): Promise<{ seeded: number }> {
  if (ctx.config.ENVIRONMENT !== "test" && !ctx.config.BENCH_ENABLED) throw new VaultError("forbidden", "bulk lease seeding is for tests and benchmarks only");
  const found = await findCredentialWithCurrentVersion(ctx.db, seed.credential);
  if (!found) throw new VaultError("not_found", "no such credential");
  const { credential, current } = found;
  const now = ctx.now();
  for (let done = 0; done < seed.count; done += SEED_BATCH) {
    ctx.storage.transactionSync(() => {
      for (let i = done; i < Math.min(seed.count, done + SEED_BATCH); i++) {
        const id = newId("lease");
        insertLease(ctx.sql, {
          id, credential_id: credential.id, credential_name: credential.name, version: current.version,
          identity: actor.identity, token_id: actor.tokenId, agent: null, purpose: "seed",
          issued_at: now, expires_at: seed.expiresAt, max_expires_at: seed.expiresAt, ttl: null,
        });
        record(ctx, actor, {
          type: "lease.created",
          target: credentialTarget(credential.id, current.version),
          details: { lease_id: id, credential_name: credential.name, ttl: Math.round((seed.expiresAt - now) / 1000), expires_at: iso(seed.expiresAt), purpose: "seed" },
        });
      }
    });
  }
  await ctx.scheduleAlarm(seed.expiresAt);
  return { seeded: seed.count };
}
