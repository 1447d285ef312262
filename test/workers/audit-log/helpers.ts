import { canonicalize, type JsonValue } from "../../../worker/core/audit/canonical-json";
import { env, runInDurableObject } from "cloudflare:test";
import { expect } from "vitest";
import { sha256HexSync } from "../../../worker/core/crypto/sha256-sync";
import { entryHashInput } from "../../../worker/core/audit/codec";
import { appendAudit } from "../../../durable-objects/audit/append";
import { vaultStub } from "../../../worker/routes/define";
import { api, bootstrap, createCredential, expectStatus, tokenWithRole } from "../helpers";

/** A row of the DO's audit table, as stored. */
export type AuditRow = {
  seq: number;
  ts: number;
  type: string;
  identity: string;
  credential_id: string | null;
  entry: string;
  hash: string;
};

/** The answer of GET /v1/audit/verify. */
export type Verify =
  | {
      ok: true;
      checked: number;
      checkpoints: number;
      head: string | null;
      signed_through: number;
      unsigned_tail: number;
    }
  | { ok: false; seq: number; reason: string; unsigned_tail?: number };

/** Runs `fn` inside the tenant's Durable Object with its SQLite storage. */
export async function withSql<T>(
  tenantId: string,
  fn: (sql: SqlStorage, storage: DurableObjectStorage) => T,
): Promise<T> {
  return runInDurableObject(vaultStub(env, tenantId), (_instance, state) => fn(state.storage.sql, state.storage));
}

/** Every stored audit row, oldest first, read straight from storage. */
export function auditRows(tenantId: string): Promise<AuditRow[]> {
  return withSql(tenantId, (sql) =>
    sql
      .exec<AuditRow>("SELECT * FROM audit ORDER BY seq")
      .toArray()
      .map((r) => ({ ...r })),
  );
}

/** A scalar from the tenant's storage. */
export function scalar(tenantId: string, query: string, ...args: SqlStorageValue[]): Promise<number> {
  return withSql(tenantId, (sql) => Number(sql.exec<{ n: number }>(query, ...args).one().n));
}

/**
 * GET /v1/audit/verify with a manager-or-above token. These chain tests look at the chain, so by
 * default they allow an unsigned tail (verify is strict since issue 10); `strict` asks as a
 * careful customer would, requiring every entry to be covered by a signed checkpoint.
 */
export async function verify(token: string, query = "", options: { strict?: boolean } = {}): Promise<Verify> {
  const q = options.strict ? query : `${query}${query.includes("?") ? "&" : "?"}allow_unsigned_tail=true`;
  return expectStatus<Verify>(await api(token, "GET", `/v1/audit/verify${q}`), 200);
}

/** Every entry through GET /v1/audit, following next_from_seq. */
export async function allEntries(
  token: string,
  filter = "",
): Promise<{ seq: number; hash: string; entry: Record<string, unknown> }[]> {
  const out: { seq: number; hash: string; entry: Record<string, unknown> }[] = [];
  let from: number | null = 1;
  while (from !== null) {
    const page: { items: typeof out; next_from_seq: number | null } = await expectStatus(
      await api(token, "GET", `/v1/audit?limit=1000&from_seq=${from}${filter}`),
      200,
    );
    out.push(...page.items);
    from = page.next_from_seq;
  }
  return out;
}

/**
 * An entry's hash as the append path computes it from its stored text: SHA-256 of the codec's
 * `entryHashInput` (0x00 ‖ the bytes for a v2 entry, the bytes alone for v1), so a forgery in
 * these tests is hashed exactly as an attacker who knows the format would hash it.
 */
export function entryHash(text: string): string {
  const { v } = JSON.parse(text) as { v: 1 | 2 };
  return sha256HexSync(entryHashInput(v, new TextEncoder().encode(text)));
}

/**
 * A tenant whose chain has exactly `leases + 3` entries (bootstrap, token, credential, leases)
 * and verifies ok; below AUDIT_CHECKPOINT_EVERY=10 entries it has no checkpoint, so verify
 * relies on the chain alone.
 */
export async function smallChain(
  leases = 4,
): Promise<{ tenantId: string; adminToken: string; user: string; size: number }> {
  const { tenantId, adminToken } = await bootstrap();
  const user = await tokenWithRole(adminToken, "user", "agent:tamper@test");
  await createCredential(adminToken, "db");
  for (let i = 0; i < leases; i++)
    await expectStatus(await api(user, "POST", "/v1/leases", { credential: "db", purpose: `p${i}` }), 201);
  const size = leases + 3;
  expect(await scalar(tenantId, "SELECT count(*) AS n FROM audit")).toBe(size);
  if (size < 10) expect(await scalar(tenantId, "SELECT count(*) AS n FROM checkpoints")).toBe(0);
  expect(await verify(adminToken)).toMatchObject({ ok: true, checked: size });
  return { tenantId, adminToken, user, size };
}

/**
 * The storage attack of issue 10 §5: entry 3's actor changed, every later link and hash
 * recomputed, checkpoints deleted. The caller decides what else to rewrite (the Merkle tree).
 */
export function rewriteChain(sql: SqlStorage, rows: readonly AuditRow[]): void {
  let prev = rows[1]!.hash;
  for (const row of rows.slice(2)) {
    const entry = JSON.parse(row.entry) as { prev_hash: string; actor: { identity: string }; seq: number };
    entry.prev_hash = prev;
    if (entry.seq === 3) entry.actor = { identity: "user:nobody@test" };
    const text = canonicalize(entry as unknown as JsonValue);
    prev = entryHash(text);
    sql.exec(
      "UPDATE audit SET entry = ?, hash = ?, identity = ? WHERE seq = ?",
      text,
      prev,
      entry.actor.identity,
      row.seq,
    );
  }
  sql.exec("DELETE FROM checkpoints");
}

/**
 * Appends one entry straight through the append path, in its own transaction, as a log written by
 * another version of the vault would hold it (`type` and `details` as given, actor `system`
 * unless named). Call inside {@link withSql}.
 */
export function appendDirect(
  sql: SqlStorage,
  storage: DurableObjectStorage,
  tenantId: string,
  event: { type: string; details: { [key: string]: JsonValue }; identity?: string },
): void {
  storage.transactionSync(() =>
    appendAudit(sql, tenantId, {
      type: event.type,
      actor: { identity: event.identity ?? "system" },
      target: null,
      outcome: "success",
      request_id: null,
      details: event.details,
      at: Date.now(),
    }),
  );
}
