import {
  aesGcmDecrypt,
  aesGcmEncrypt,
  AES_GCM_IV_BYTES,
  bytesToHex,
  concatBytes,
  hkdfSha256,
  hkdfSha256AesKey,
  hmacSha256,
  importHkdfKey,
  randomBytes,
  timingSafeEqual,
  utf8Decode,
  utf8Encode,
} from "../worker/core/crypto";
import { VaultError } from "../worker/contract/errors";
import { IdempotencyKeySchema } from "../worker/contract/rpc";
import { findLease } from "./storage/leases";
import type { Actor, VaultContext } from "./vault-context";

/**
 * Idempotent retries (issue 15 §6). A POST sent with an `Idempotency-Key` is remembered per token
 * for 24 h: the same key with the same request answers the first outcome again without running the
 * operation (no second lease, rotation or audit entry); the same key with another request is 422
 * `idempotency_mismatch`; a key whose first request is still running is 409 `conflict`.
 *
 * What is stored: a lease's answer holds the credential value, and keeping it in SQLite in clear
 * would be worse than having no idempotency at all. So the outcome is sealed with AES-256-GCM under a
 * key derived (HKDF-SHA256) from the caller's raw bearer token, which the object never stores (it
 * keeps only an HMAC under the pepper). Only the same token can open it again, and whoever reads the
 * object's storage learns neither the value nor the request: the fingerprint is an HMAC under a
 * second key derived from the same token, so a low-entropy secret in a request body cannot be
 * guessed from it offline. Failed calls are not remembered: they changed nothing, so a retry runs again.
 * A replayed lease must still be active (REPLAY_CHECKS): break glass ends re-delivery too.
 */

/**
 * The Idempotency-Key of a call, as sent (the Worker passes the header on unchecked): undefined
 * when there was none. Checked before the input and before any idempotency row is read, so bad
 * input is never matched against, or stored as, an outcome.
 * @throws VaultError validation_failed for a key that is not 1–128 printable ASCII characters.
 */
export function parseIdempotencyKey(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const key = IdempotencyKeySchema.safeParse(raw);
  if (!key.success)
    throw new VaultError("validation_failed", "Idempotency-Key header: must be 1 to 128 printable ASCII characters");
  return key.data;
}

/** How long an outcome is kept and replayed. */
export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;

/** Expired rows deleted per alarm run, so a purge never starves requests. */
export const IDEMPOTENCY_PURGE_BATCH = 500;

/** What the object needs to honour a key: the key, the raw token it derives its secrets from, and the request. */
export interface IdempotentRequest {
  key: string;
  token: string;
  operation: string;
  input: unknown;
}

type Row = { fingerprint: string; outcome: ArrayBuffer | null };

/**
 * Replays that would hand out a credential value again are checked against the present state: a
 * lease revoked (break glass) or expired since must not be re-delivered by a retry.
 */
const REPLAY_CHECKS: Record<string, (ctx: VaultContext, value: unknown) => void> = {
  "leases.create": (ctx, value) => {
    const id = (value as { lease?: { id?: unknown } } | null)?.lease?.id;
    const lease = typeof id === "string" ? findLease(ctx.sql, id) : undefined;
    if (!lease || lease.state !== "active" || lease.expires_at <= ctx.now()) {
      throw new VaultError(
        "conflict",
        "the lease this Idempotency-Key created has ended (revoked or expired); send a new key to lease again",
      );
    }
  },
};

// A fixed salt: the raw token is already a high-entropy secret (RFC 5869 §3.1 allows it).
const SALT = utf8Encode("vault idempotency v1");

async function secretsFor(token: string): Promise<{ mac: Uint8Array; seal: CryptoKey }> {
  const base = await importHkdfKey(utf8Encode(token));
  return {
    mac: await hkdfSha256(base, SALT, utf8Encode("fingerprint"), 32),
    seal: await hkdfSha256AesKey(base, SALT, utf8Encode("outcome"), ["encrypt", "decrypt"]),
  };
}

/** Binds a sealed outcome to its row, so one row's ciphertext cannot be replayed under another. */
function aad(actor: Actor, request: IdempotentRequest, fingerprint: string): Uint8Array {
  return utf8Encode(JSON.stringify([actor.tokenId, request.key, fingerprint]));
}

/**
 * Runs `run` at most once per (token, key) within 24 h and answers its outcome to every retry.
 * The lookup and the claim are one synchronous step, so two concurrent requests cannot both run.
 * If the object dies after the operation but before its outcome is stored, the row stays claimed
 * and retries get 409 until it expires: refusing is safe, acting twice is not.
 */
export async function idempotent<T>(
  ctx: VaultContext,
  actor: Actor,
  request: IdempotentRequest,
  run: () => Promise<T>,
): Promise<T> {
  const secrets = await secretsFor(request.token);
  const fingerprint = bytesToHex(
    await hmacSha256(secrets.mac, utf8Encode(JSON.stringify([request.operation, request.input ?? null]))),
  );
  const now = ctx.now();
  const row = ctx.sql
    .exec<Row>(
      "SELECT fingerprint, outcome FROM idempotency WHERE token_id = ? AND idem_key = ? AND expires_at > ?",
      actor.tokenId,
      request.key,
      now,
    )
    .toArray()[0];
  if (row) {
    if (!timingSafeEqual(utf8Encode(row.fingerprint), utf8Encode(fingerprint))) {
      throw new VaultError(
        "idempotency_mismatch",
        "this Idempotency-Key was already used with a different request; send a new key",
      );
    }
    if (row.outcome === null)
      throw new VaultError("conflict", "a request with this Idempotency-Key is still in progress; retry later");
    const value: unknown = JSON.parse(
      await open(secrets.seal, aad(actor, request, fingerprint), new Uint8Array(row.outcome)),
    );
    REPLAY_CHECKS[request.operation]?.(ctx, value);
    return value as T;
  }
  // An expired row of the same key is replaced: after 24 h the key is free again.
  ctx.sql.exec(
    "INSERT OR REPLACE INTO idempotency (token_id, idem_key, fingerprint, outcome, created_at, expires_at) VALUES (?, ?, ?, NULL, ?, ?)",
    actor.tokenId,
    request.key,
    fingerprint,
    now,
    now + IDEMPOTENCY_TTL_MS,
  );
  let value: T;
  try {
    value = await run();
  } catch (error) {
    ctx.sql.exec("DELETE FROM idempotency WHERE token_id = ? AND idem_key = ?", actor.tokenId, request.key);
    throw error;
  }
  const sealed = await seal(secrets.seal, aad(actor, request, fingerprint), JSON.stringify(value ?? null));
  ctx.sql.exec(
    "UPDATE idempotency SET outcome = ? WHERE token_id = ? AND idem_key = ?",
    sealed,
    actor.tokenId,
    request.key,
  );
  await ctx.scheduleAlarm(now + IDEMPOTENCY_TTL_MS);
  return value;
}

async function seal(key: CryptoKey, data: Uint8Array, plaintext: string): Promise<Uint8Array> {
  const iv = randomBytes(AES_GCM_IV_BYTES);
  return concatBytes(iv, await aesGcmEncrypt(key, iv, data, utf8Encode(plaintext)));
}

async function open(key: CryptoKey, data: Uint8Array, sealed: Uint8Array): Promise<string> {
  return utf8Decode(
    await aesGcmDecrypt(key, sealed.subarray(0, AES_GCM_IV_BYTES), data, sealed.subarray(AES_GCM_IV_BYTES)),
  );
}

/**
 * Deletes up to one batch of expired rows (alarm). Returns when the oldest remaining row expires,
 * or `"more"` if another batch is already due.
 */
export function purgeExpiredIdempotency(ctx: VaultContext): number | "more" | null {
  const now = ctx.now();
  ctx.sql.exec(
    "DELETE FROM idempotency WHERE rowid IN (SELECT rowid FROM idempotency WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)",
    now,
    IDEMPOTENCY_PURGE_BATCH,
  );
  const next = ctx.sql.exec<{ at: number | null }>("SELECT min(expires_at) AS at FROM idempotency").one().at;
  return next !== null && next <= now ? "more" : next;
}
