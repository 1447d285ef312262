import { z } from "zod";
import { parseCosignerKey, verifyCosignature, type CosignerKey } from "../../worker/core/audit/cosignature";
import { toBase64 } from "../../worker/core/audit/encoding";
import { merkleCheckpointOrigin } from "../../worker/core/audit/log-checkpoint";
import { consistencyProof } from "../../worker/core/audit/merkle";
import { parseSignedNote } from "../../worker/core/audit/signed-note";
import { readBounded } from "../../worker/core/federation/document-fetch";
import type { WitnessSetting } from "../../worker/contract/config";
import type { VaultContext } from "../vault-context";
import { hashReader, treeSha256 } from "./merkle-store";

/**
 * Submitting the tenant's newest Merkle checkpoint to each configured witness (C2SP tlog-witness
 * add-checkpoint) and storing the cosignatures it returns on the checkpoint's note, so every
 * route and export that serves the note serves them too.
 *
 * Per witness the object remembers the witness's size for this log (`witness_state`): the proof
 * sent goes from there. A 409 names the witness's size and is answered once by resending from it
 * (the witness may have lost track of us, or we of it). Nothing here blocks an append: it runs
 * after the checkpoint is stored, and a failure only schedules a retry by the alarm with backoff
 * (30 s doubling to 1 h, at most MAX_FAILURES times per checkpoint size; a newer checkpoint
 * starts afresh). A witness that refuses (403/404/422, or a 409 from ahead of this log) is an
 * integrity signal: it is logged as `audit witness refused checkpoint` (docs/incident-runbook.md).
 */

/** How the object reaches one witness: its settings and a send of an add-checkpoint body. */
export interface WitnessClient {
  readonly setting: WitnessSetting;
  send(body: string): Promise<Response>;
}

/** Failed submissions of one checkpoint size before the alarm stops retrying it. */
export const MAX_FAILURES = 8;
const FIRST_BACKOFF_MS = 30_000;
const MAX_BACKOFF_MS = 3_600_000;
/** A witness answers a few signature lines or a size; anything longer is not an answer. */
const MAX_RESPONSE_BYTES = 4096;

/**
 * The client of a configured witness: its https URL (`<url>/add-checkpoint`), or in development
 * and tests a service binding (config.ts refuses bindings in production).
 */
export function witnessClient(setting: WitnessSetting, env: Env, timeoutMs: number): WitnessClient {
  const binding =
    setting.binding === undefined
      ? undefined
      : (env as unknown as Record<string, Fetcher | undefined>)[setting.binding];
  const target =
    setting.url === undefined
      ? "https://witness.binding/add-checkpoint"
      : `${setting.url.replace(/\/+$/, "")}/add-checkpoint`;
  return {
    setting,
    send: (body) => {
      const init = {
        method: "POST",
        body,
        headers: { "content-type": "text/plain; charset=utf-8" },
        signal: AbortSignal.timeout(timeoutMs),
      };
      if (setting.binding === undefined) return fetch(target, init);
      if (binding === undefined) return Promise.reject(new Error(`witness binding ${setting.binding} is not bound`));
      return binding.fetch(target, init);
    },
  };
}

const StateRow = z.object({
  witness: z.string(),
  size: z.number().int(),
  cosigned: z.number().int(),
  attempted: z.number().int(),
  failures: z.number().int(),
  retry_at: z.number().int().nullable(),
  last_error: z.string().nullable(),
});

/** What the object knows about one witness for this tenant's log (table `witness_state`). */
export type WitnessState = z.output<typeof StateRow>;

/** Every witness's state row, by witness name. */
export function witnessStates(sql: SqlStorage): WitnessState[] {
  return sql
    .exec(
      "SELECT witness, size, cosigned, attempted, failures, retry_at, last_error FROM witness_state ORDER BY witness",
    )
    .toArray()
    .map((r) => StateRow.parse(r));
}

interface Latest {
  readonly size: number;
  readonly note: string;
}

/**
 * Submits the newest Merkle checkpoint to every witness that has not cosigned it and is due
 * (a new size, or its retry time has come). Never throws: a failure is recorded and retried.
 */
export async function submitToWitnesses(ctx: VaultContext): Promise<void> {
  if (ctx.witnesses.length === 0) return;
  try {
    const origin = merkleCheckpointOrigin(ctx.config.AUDIT_HOST, ctx.tenantId);
    const row = ctx.sql
      .exec<{ size: number; note: string }>("SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT 1")
      .toArray()[0];
    // Only Merkle checkpoints are witnessed: a hash-chain head has no consistency proofs.
    if (row === undefined || !row.note.startsWith(`${origin}\n`)) return;
    // Real time, not ctx.now(): retries are alarm deadlines (a test's fixed clock never advances).
    const now = Date.now();
    await Promise.all(ctx.witnesses.map((w) => submitOne(ctx, w, row, now)));
    // Only witnesses still configured: a removed one's pending retry must not re-arm the alarm forever.
    const next = witnessStates(ctx.sql)
      .filter((s) => s.retry_at !== null && ctx.witnesses.some((w) => w.setting.name === s.witness))
      .reduce<number | null>((at, s) => (at === null || s.retry_at! < at ? s.retry_at : at), null);
    if (next !== null) await ctx.scheduleAlarm(Math.max(next, now));
  } catch (error) {
    console.error("audit witness submission failed", {
      tenant: ctx.tenantId,
      error: error instanceof Error ? error.message : "unknown",
    });
  }
}

async function submitOne(ctx: VaultContext, client: WitnessClient, latest: Latest, now: number): Promise<void> {
  const { name, vkey } = client.setting;
  const state = witnessStates(ctx.sql).find((s) => s.witness === name) ?? {
    witness: name,
    size: 0,
    cosigned: 0,
    attempted: 0,
    failures: 0,
    retry_at: null,
    last_error: null,
  };
  if (state.cosigned >= latest.size) return;
  const fresh = latest.size > state.attempted;
  if (!fresh && (state.retry_at === null || state.retry_at > now)) return;
  const failures = fresh ? 0 : state.failures;
  const fail = (error: string, refused: boolean) =>
    recordFailure(ctx, name, latest.size, failures + 1, now, error, refused);
  const key = await parseCosignerKey(vkey);
  if (key === null) return fail(`configured vkey of witness ${name} is not a valid cosigner key`, false);

  let old = Math.min(state.size, latest.size);
  for (let attempt = 0; attempt < 2; attempt++) {
    const proof = consistencyProof(treeSha256, latest.size, old, hashReader(ctx.sql)).map(toBase64);
    let res: Response;
    try {
      res = await client.send(`old ${old}\n${proof.map((p) => `${p}\n`).join("")}\n${latest.note}`);
    } catch (error) {
      return fail(`witness unreachable: ${error instanceof Error ? error.message : "fetch failed"}`, false);
    }
    const bytes = await readBounded(res, MAX_RESPONSE_BYTES).catch(() => null);
    const text = bytes === null ? "" : new TextDecoder().decode(bytes);
    if (res.status === 200) {
      return (await storeCosignature(ctx, key, latest, text))
        ? recordSuccess(ctx, name, latest.size)
        : fail("witness answered 200 without a valid cosignature", true);
    }
    const theirs = res.status === 409 ? /^(0|[1-9][0-9]{0,15})\n?$/.exec(text) : null;
    if (theirs === null || attempt > 0)
      return fail(
        `witness answered ${res.status}: ${text.trim().slice(0, 200)}`,
        res.status < 500 && res.status !== 429,
      );
    const size = Number(theirs[1]);
    // Larger than our newest checkpoint: it cosigned a history this log no longer has (a rollback).
    if (size > latest.size)
      return fail(`witness has cosigned size ${size}, beyond this log's newest checkpoint ${latest.size}`, true);
    old = size;
  }
}

/** Checks the returned line against the witness's key, then appends it to the stored note once. */
async function storeCosignature(ctx: VaultContext, key: CosignerKey, latest: Latest, lines: string): Promise<boolean> {
  const parsed = parseSignedNote(`${latest.note.slice(0, latest.note.indexOf("\n\n") + 1)}\n${lines}`);
  if (!parsed.ok) return false;
  const own = parsed.note.signatures.find((s) => s.name === key.name);
  if (own === undefined) return false;
  const line = `\u2014 ${own.name} ${toBase64(new Uint8Array([...own.keyId, ...own.signature]))}\n`;
  if (!(await verifyCosignature(key, parsed.note.text, own)).ok) return false;
  ctx.storage.transactionSync(() => {
    const note = ctx.sql
      .exec<{ note: string }>("SELECT note FROM checkpoints WHERE size = ?", latest.size)
      .toArray()[0]?.note;
    // One cosignature per witness per checkpoint: a resubmission's fresh timestamp adds nothing.
    if (note !== undefined && !note.includes(`\n\u2014 ${key.name} `))
      ctx.sql.exec("UPDATE checkpoints SET note = ? WHERE size = ?", note + line, latest.size);
  });
  return true;
}

function recordSuccess(ctx: VaultContext, name: string, size: number): void {
  ctx.sql.exec(
    `INSERT INTO witness_state (witness, size, cosigned, attempted, failures, retry_at, last_error, updated_at) VALUES (?, ?, ?, ?, 0, NULL, NULL, ?)
     ON CONFLICT (witness) DO UPDATE SET size = max(size, excluded.size), cosigned = max(cosigned, excluded.cosigned), attempted = excluded.attempted, failures = 0, retry_at = NULL, last_error = NULL, updated_at = excluded.updated_at`,
    name,
    size,
    size,
    size,
    Date.now(),
  );
}

function recordFailure(
  ctx: VaultContext,
  name: string,
  size: number,
  failures: number,
  now: number,
  error: string,
  refused: boolean,
): void {
  const retryAt =
    failures < MAX_FAILURES ? now + Math.min(FIRST_BACKOFF_MS * 2 ** (failures - 1), MAX_BACKOFF_MS) : null;
  ctx.sql.exec(
    `INSERT INTO witness_state (witness, size, cosigned, attempted, failures, retry_at, last_error, updated_at) VALUES (?, 0, 0, ?, ?, ?, ?, ?)
     ON CONFLICT (witness) DO UPDATE SET attempted = excluded.attempted, failures = excluded.failures, retry_at = excluded.retry_at, last_error = excluded.last_error, updated_at = excluded.updated_at`,
    name,
    size,
    failures,
    retryAt,
    error.slice(0, 300),
    now,
  );
  // A refusal means the witness holds a history this checkpoint does not extend: an integrity alarm.
  const log = refused ? console.error : console.warn;
  log(refused ? "audit witness refused checkpoint" : "audit witness submission failed", {
    tenant: ctx.tenantId,
    witness: name,
    size,
    failures,
    error: error.slice(0, 300),
  });
}
