/**
 * The vault submits its Merkle checkpoints to the configured witness (the auxiliary dev/witness
 * Worker, AUDIT_WITNESSES in vitest.config.ts) and serves them with the cosignature; and issue 10
 * §5: a tenant's chain and tree rewritten in storage, checkpoints deleted, object restarted. The
 * vault re-signs the forged head, but the witness refuses to cosign it, verification with the
 * witness quorum fails, and a client that remembered an earlier checkpoint reports a fork.
 */
import { abortAllDurableObjects, env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { backfillMerkle } from "../../../durable-objects/audit/merkle-store";
import { MAX_FAILURES, submitToWitnesses } from "../../../durable-objects/audit/witnesses";
import { buildContext } from "../../../durable-objects/build-context";
import { vaultStub } from "../../../worker/routes/define";
import { AuditForkError, MemoryCheckpointMemory } from "../../../sdk/audit-memory";
import { verifyAuditExport } from "../../../sdk/audit-verify";
import { verifyWitnessQuorum } from "../../../worker/core/audit/cosignature";
import { parseSignedNote } from "../../../worker/core/audit/signed-note";
import { api, expectStatus, sdkClient } from "../helpers";
import { auditRows, rewriteChain, smallChain, withSql } from "../audit-log/helpers";
import { TEST_WITNESS, TEST_WITNESS_VKEY, vkeyOf } from "../../witness-env";
import { witnessKey } from "./helpers";

type Checkpoints = { items: { size: number; note: string }[] };

async function merkleVkey(): Promise<string> {
  const { verifier_key } = await expectStatus<{ verifier_key: string }>(
    await api(null, "GET", "/v1/audit/public-key"),
    200,
  );
  return verifier_key;
}

/** The newest checkpoint, signed now if the head is not covered (GET /v1/audit/checkpoints?fresh=true). */
async function freshCheckpoint(token: string): Promise<{ size: number; note: string }> {
  const { items } = await expectStatus<Checkpoints>(await api(token, "GET", "/v1/audit/checkpoints?fresh=true"), 200);
  return items.at(-1)!;
}

/** The JSON Lines export (read as bytes: it is application/x-ndjson). */
async function exportText(token: string): Promise<string> {
  return new TextDecoder().decode(await (await api(token, "GET", "/v1/audit/export")).arrayBuffer());
}

async function quorum(note: string, tenantId: string) {
  return verifyWitnessQuorum(note, await merkleVkey(), [await witnessKey()], 1, {
    origin: `vault.test/audit/v2/${tenantId}`,
  });
}

async function witnessState(tenantId: string) {
  return withSql(tenantId, (sql) =>
    sql.exec("SELECT witness, size, cosigned, failures, retry_at, last_error FROM witness_state").toArray(),
  );
}

describe("checkpoints carry the witness's cosignature", () => {
  it("the first checkpoint and each later one, consistent with the last, are cosigned and served with it", async () => {
    const { tenantId, adminToken, user } = await smallChain();
    const first = await freshCheckpoint(adminToken);
    expect(await quorum(first.note, tenantId)).toMatchObject({ ok: true, cosignedBy: [TEST_WITNESS.name] });
    for (let i = 0; i < 3; i++)
      await expectStatus(await api(user, "POST", "/v1/leases", { credential: "db", purpose: `more${i}` }), 201);
    const second = await freshCheckpoint(adminToken);
    expect(second.size).toBe(first.size + 3);
    expect(await quorum(second.note, tenantId)).toMatchObject({ ok: true });
    expect(await witnessState(tenantId)).toEqual([
      {
        witness: TEST_WITNESS.name,
        size: second.size,
        cosigned: second.size,
        failures: 0,
        retry_at: null,
        last_error: null,
      },
    ]);
    // The export carries the same cosigned notes.
    const exported = (await exportText(adminToken)).includes(second.note.split("\n\n")[1]!.split("\n")[1]!);
    expect(exported).toBe(true);
  });

  it("a failed submission is retried by the alarm when due, and no longer after MAX_FAILURES", async () => {
    const { tenantId, adminToken } = await smallChain();
    const { size, note } = await freshCheckpoint(adminToken);
    const logOnly = note.slice(0, note.lastIndexOf("\n\u2014 ") + 1);
    expect(logOnly.length).toBeLessThan(note.length);
    // As if the first submission had failed MAX_FAILURES times: no retry is scheduled, the alarm leaves it.
    const failed = (failures: number, retryAt: number | null) =>
      withSql(tenantId, (sql) => {
        sql.exec("UPDATE checkpoints SET note = ? WHERE size = ?", logOnly, size);
        sql.exec(
          "UPDATE witness_state SET size = 0, cosigned = 0, failures = ?, retry_at = ?, last_error = 'witness unreachable'",
          failures,
          retryAt,
        );
      });
    await failed(MAX_FAILURES, null);
    await runDurableObjectAlarm(vaultStub(env, tenantId));
    expect(
      await withSql(
        tenantId,
        (sql) => sql.exec<{ note: string }>("SELECT note FROM checkpoints WHERE size = ?", size).one().note,
      ),
    ).toBe(logOnly);
    // Control: one failure with its retry due; the alarm resubmits (409 from old 0, then from the
    // witness's size) and the cosignature is stored.
    await failed(1, Date.now() - 1);
    await runDurableObjectAlarm(vaultStub(env, tenantId));
    const [retried] = await expectStatus<Checkpoints>(
      await api(adminToken, "GET", `/v1/audit/checkpoints?from_seq=${size}&to_seq=${size}`),
      200,
    ).then((b) => b.items);
    expect(await quorum(retried!.note, tenantId)).toMatchObject({ ok: true });
    expect(await witnessState(tenantId)).toMatchObject([{ cosigned: size, failures: 0, retry_at: null }]);
  });

  it("an unreachable or unbound witness is recorded and scheduled for retry; the log and its checkpoint are untouched", async () => {
    const { tenantId, adminToken, user } = await smallChain();
    const { size, note } = await freshCheckpoint(adminToken);
    const down = [
      {
        name: "witness.test/down",
        vkey: vkeyOf("witness.test/down", "77".repeat(32), 0x04),
        url: "https://witness.invalid",
      },
      {
        name: "witness.test/unbound",
        vkey: vkeyOf("witness.test/unbound", "78".repeat(32), 0x04),
        binding: "NO_SUCH_WITNESS",
      },
    ];
    const alarms: number[] = [];
    const submit = (over: Record<string, string>) =>
      runInDurableObject(vaultStub(env, tenantId), (_instance, state) =>
        submitToWitnesses(
          buildContext({
            env: { ...env, ...over } as unknown as Env,
            storage: state.storage,
            tenantId,
            now: () => Date.now(),
            scheduleAlarm: async (at) => void alarms.push(at),
          }),
        ),
      );
    const before = Date.now();
    await submit({ AUDIT_WITNESSES: JSON.stringify(down), AUDIT_WITNESS_TIMEOUT_MS: "2000" });
    const rows = (await witnessState(tenantId)) as {
      witness: string;
      failures: number;
      retry_at: number;
      last_error: string;
    }[];
    const byName = Object.fromEntries(rows.map((r) => [r.witness, r]));
    // One failure each, retried by the alarm in 30 s.
    for (const name of ["witness.test/down", "witness.test/unbound"]) {
      expect(byName[name], name).toMatchObject({
        failures: 1,
        last_error: expect.stringMatching(/^witness unreachable: /),
      });
      expect(byName[name]!.retry_at).toBeGreaterThanOrEqual(before + 30_000);
    }
    expect(byName["witness.test/unbound"]!.last_error).toBe(
      "witness unreachable: witness binding NO_SUCH_WITNESS is not bound",
    );
    expect(alarms.length).toBe(1);
    // Once those witnesses are no longer configured, their pending retries arm no alarm.
    await submit({});
    expect(alarms.length).toBe(1);
    // The real witness's row and the stored note (with its cosignature) are unchanged, and appends go on.
    expect(byName[TEST_WITNESS.name]).toMatchObject({ cosigned: size, failures: 0 });
    expect(
      await withSql(
        tenantId,
        (sql) => sql.exec<{ note: string }>("SELECT note FROM checkpoints WHERE size = ?", size).one().note,
      ),
    ).toBe(note);
    await expectStatus(await api(user, "POST", "/v1/leases", { credential: "db", purpose: "still-works" }), 201);
  });

  it("answers the witness's 409 by resending a proof from the size it names (the vault lost track)", async () => {
    const { tenantId, adminToken, user } = await smallChain();
    await freshCheckpoint(adminToken);
    await withSql(tenantId, (sql) => sql.exec("DELETE FROM witness_state"));
    await expectStatus(await api(user, "POST", "/v1/leases", { credential: "db", purpose: "after" }), 201);
    const next = await freshCheckpoint(adminToken);
    expect(await quorum(next.note, tenantId)).toMatchObject({ ok: true });
  });
});

describe("issue 10 §5: a history rewritten in the vault's storage", () => {
  it("is re-signed by the vault, but the witness refuses it, witness-quorum verify fails and a remembering client reports a fork", async () => {
    const { tenantId, adminToken, user } = await smallChain();
    const exportLines = async () => (await exportText(adminToken)).trim().split("\n");
    const vkey = await merkleVkey();
    const memory = new MemoryCheckpointMemory();
    const headMemory = new MemoryCheckpointMemory();
    const vault = sdkClient(adminToken);
    // Positive controls on the real history: cosigned, quorum met, remembered by the client.
    const honest = await freshCheckpoint(adminToken);
    expect(await vault.audit.checkHead(vkey, { memory: headMemory })).toMatchObject({ ok: true });
    expect(await quorum(honest.note, tenantId)).toMatchObject({ ok: true });
    expect(await verifyAuditExport(await exportLines(), vkey, { tenant: tenantId, memory })).toMatchObject({
      ok: true,
    });
    // The SDK's witness-quorum verify of an export passes on the real history (control).
    const witnesses = { keys: [TEST_WITNESS_VKEY], quorum: 1 };
    expect(await verifyAuditExport(await exportLines(), vkey, { tenant: tenantId, witnesses })).toMatchObject({
      ok: true,
    });
    // The export signed (and the witness cosigned) a newer checkpoint: the last honest one.
    const lastHonest = (
      await expectStatus<Checkpoints>(await api(adminToken, "GET", "/v1/audit/checkpoints"), 200)
    ).items.at(-1)!;
    expect(await quorum(lastHonest.note, tenantId)).toMatchObject({ ok: true });

    // The attack: chain and Merkle tree rewritten from entry 3 on, checkpoints and the vault's
    // witness bookkeeping deleted, the object restarted.
    const rows = await auditRows(tenantId);
    await withSql(tenantId, (sql, storage) => {
      rewriteChain(sql, rows);
      for (const table of ["audit_hashes", "audit_cutover", "witness_state"]) sql.exec(`DELETE FROM ${table}`);
      while (backfillMerkle(storage) === "more");
    });
    await abortAllDurableObjects();
    // Appends still work: witness trouble never blocks the log.
    await expectStatus(await api(user, "POST", "/v1/leases", { credential: "db", purpose: "after-rewrite" }), 201);

    // The vault signs the forged head, and its own signature is valid...
    const forged = await freshCheckpoint(adminToken);
    expect(forged.size).toBeGreaterThan(lastHonest.size);
    expect(parseSignedNote(forged.note)).toMatchObject({ ok: true });
    expect(await verifyAuditExport(await exportLines(), vkey, { tenant: tenantId })).toMatchObject({ ok: true });
    // ...but the witness refused it (409 from old 0, then 422 on the proof from its size): no cosignature.
    const [state] = (await witnessState(tenantId)) as {
      cosigned: number;
      failures: number;
      retry_at: number | null;
      last_error: string;
    }[];
    expect(state).toMatchObject({ cosigned: 0, failures: 1 });
    expect(state!.last_error).toMatch(/^witness answered 422: consistency proof from size \d+ to \d+ does not verify/);
    expect(state!.retry_at).toBeGreaterThan(Date.now());
    expect(await quorum(forged.note, tenantId)).toEqual({
      ok: false,
      reason: "checkpoint has 0 of the 1 witness cosignatures required",
      cosignedBy: [],
    });
    // The SDK's export verify with the witness quorum fails too (the forged export alone is valid under the key).
    expect(await verifyAuditExport(await exportLines(), vkey, { tenant: tenantId, witnesses })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/cosigned by 1/),
    });
    // The witness still holds the honest checkpoint as its latest for this log.
    const held = await env.TEST_WITNESS.fetch(
      `https://witness.test/checkpoint?origin=${encodeURIComponent(`vault.test/audit/v2/${tenantId}`)}`,
    );
    expect(parseSignedNote(await held.text())).toMatchObject({
      ok: true,
      note: { text: lastHonest.note.slice(0, lastHonest.note.indexOf("\n\n") + 1) },
    });
    // And the client that remembered the honest checkpoint reports a fork.
    const error = await verifyAuditExport(await exportLines(), vkey, { tenant: tenantId, memory }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AuditForkError);
    // Online, without an export: the client that remembered a head gets no consistency proof from
    // it to the forged head (sdk/audit-monitor.ts). Controls: the forged head alone carries a
    // valid vault signature, and only the witness quorum refuses it.
    await expect(vault.audit.checkHead(vkey, { memory: headMemory })).rejects.toBeInstanceOf(AuditForkError);
    expect(await vault.audit.checkHead(vkey)).toMatchObject({ ok: true, provedFrom: null });
    expect(await vault.audit.checkHead(vkey, { witnesses, fresh: false })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/cosigned by the witness quorum/),
    });
  });
});
