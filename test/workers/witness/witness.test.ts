/**
 * The witness Worker (dev/witness) over HTTP, as an auxiliary Worker: the C2SP tlog-witness
 * add-checkpoint statuses, each refusal with a positive control beside it, and its state checked
 * through the next request (a refused request changes nothing).
 */
import { describe, expect, it } from "vitest";
import { signCheckpoint } from "../../../worker/core/audit/checkpoint";
import { verifyWitnessQuorum } from "../../../worker/core/audit/cosignature";
import { verifierKey } from "../../../worker/core/audit/signed-note";
import { formatAddCheckpoint, parseAddCheckpoint } from "../../../dev/witness/protocol";
import { env } from "cloudflare:test";
import { merkleKeyName } from "../../../worker/core/audit/signing-key";
import { TEST_WITNESS, TEST_WITNESS_VKEY, vaultKeyName } from "../../witness-env";
import { freshOrigin, postWitness, submit, ToyLog, witnessKey } from "./helpers";

async function expectCosigned(res: Response, log: ToyLog, size = log.size): Promise<void> {
  const lines = await res.text();
  expect(res.status, lines).toBe(200);
  const note = (await log.checkpoint(size)) + lines;
  const logKey = await verifierKey(log.signer.name, log.signer.publicKey);
  expect(await verifyWitnessQuorum(note, logKey, [await witnessKey()], 1, { origin: log.origin })).toMatchObject({
    ok: true,
    cosignedBy: [TEST_WITNESS.name],
  });
}

describe("add-checkpoint: the happy path", () => {
  it("cosigns a first checkpoint from old 0, then one that extends it with a valid proof", async () => {
    const log = (await ToyLog.create()).append(5);
    await expectCosigned(await submit(log, 0), log);
    log.append(8);
    await expectCosigned(await submit(log, 5), log);
    // Same size, same root again: cosigned again (a fresh timestamp, nothing moves).
    await expectCosigned(await submit(log, 13), log);
  });

  it("publishes its vkey and the last checkpoint it cosigned, also under a route prefix", async () => {
    const vkey = await (await postWitness("", "/vkey", { method: "GET", body: null })).text();
    expect(vkey).toBe(`${TEST_WITNESS_VKEY}\n`);
    expect(await (await postWitness("", "/witness/vkey", { method: "GET", body: null })).text()).toBe(
      `${TEST_WITNESS_VKEY}\n`,
    );
    expect((await postWitness("", "/vkeys", { method: "GET", body: null })).status).toBe(404);
    const log = (await ToyLog.create()).append(3);
    const url = `/checkpoint?origin=${encodeURIComponent(log.origin)}`;
    expect((await postWitness("", url, { method: "GET", body: null })).status).toBe(404);
    // Submitted under a route prefix (`<prefix>/add-checkpoint`).
    await expectCosigned(
      await postWitness(formatAddCheckpoint(0, [], await log.checkpoint()), "/witness/add-checkpoint"),
      log,
    );
    expect(await (await postWitness("", url, { method: "GET", body: null })).text()).toBe(await log.checkpoint());
  });
});

describe("add-checkpoint: refusals (each changes nothing)", () => {
  it("409 with its size as text/x.tlog.size when old differs, then accepts a proof from that size", async () => {
    const log = (await ToyLog.create()).append(4);
    await expectCosigned(await submit(log, 0), log);
    log.append(3);
    const stale = await submit(log, 0);
    expect(stale.status).toBe(409);
    expect(stale.headers.get("content-type")).toBe("text/x.tlog.size");
    expect(await stale.text()).toBe("4\n");
    const wrong = await submit(log, 2);
    expect([wrong.status, await wrong.text()]).toEqual([409, "4\n"]);
    await expectCosigned(await submit(log, 4), log);
  });

  it("422 for a proof that does not verify: another history of the same log (a fork)", async () => {
    const log = (await ToyLog.create()).append(6);
    await expectCosigned(await submit(log, 0), log);
    // The same origin and key, but leaves rewritten: a forked history that grew to 9.
    const fork = new ToyLog(log.origin, log.signer, "forged").append(9);
    const forged = await submit(fork, 6);
    expect([forged.status, await forged.text()]).toEqual([422, "consistency proof from size 6 to 9 does not verify\n"]);
    // A proof taken from the real log does not help the forged root either.
    log.append(3);
    expect((await submit(fork, 6, 9, log.proof(6, 9))).status).toBe(422);
    // Control: the real extension is still accepted, so the refusals did not move the witness.
    await expectCosigned(await submit(log, 6), log);
  });

  it("cosigns at most one of two forks submitted at the same moment (atomic check-and-update)", async () => {
    const base = (await ToyLog.create()).append(4);
    await expectCosigned(await submit(base, 0), base);
    // Two histories that share the cosigned prefix, each with a valid proof from size 4.
    const real = new ToyLog(base.origin, base.signer).append(4).append(5);
    const rival = new ToyLog(base.origin, base.signer).append(4).append(5, "rival");
    const results = await Promise.all([submit(real, 4), submit(rival, 4)]);
    const statuses = results.map((r) => r.status).sort();
    expect(statuses[0]).toBe(200);
    expect([409, 422]).toContain(statuses[1]);
  });

  it("422 for the same size with a different root, and for a proof sent with old 0", async () => {
    const log = (await ToyLog.create()).append(5);
    await expectCosigned(await submit(log, 0), log);
    const fork = new ToyLog(log.origin, log.signer, "other").append(5);
    expect((await submit(fork, 5)).status).toBe(422);
    const fresh = (await ToyLog.create()).append(4);
    const withProof = await postWitness(formatAddCheckpoint(0, fresh.proof(2, 4), await fresh.checkpoint()));
    expect(withProof.status).toBe(422);
    await expectCosigned(await submit(fresh, 0), fresh);
  });

  it('422 for a size-0 checkpoint whose root is not SHA-256(""); the empty tree itself is fine', async () => {
    const log = await ToyLog.create();
    await expectCosigned(await submit(log, 0, 0), log, 0);
    const other = await ToyLog.create();
    const note = await signCheckpoint(other.signer, { origin: other.origin, size: 0, hash: "00".repeat(32) });
    expect((await postWitness(formatAddCheckpoint(0, [], note))).status).toBe(422);
  });

  it("400 when old is larger than the checkpoint's size", async () => {
    const log = (await ToyLog.create()).append(3);
    expect((await submit(log, 5)).status).toBe(400);
    await expectCosigned(await submit(log, 0), log);
  });

  it("403 without a valid signature by the log's key; 404 for an origin it does not witness", async () => {
    const log = (await ToyLog.create()).append(2);
    const impostor = await ToyLog.create(log.origin, "leaf", "11".repeat(32));
    impostor.append(2);
    const unsigned = await submit(impostor, 0);
    expect([unsigned.status, await unsigned.text()]).toEqual([403, "log signature: no signature by a trusted key\n"]);
    // Right key name and key ID, signature bytes flipped: a known key that fails.
    const note = await log.checkpoint();
    const cut = note.lastIndexOf(" ") + 1;
    const sigBytes = note.slice(cut, -1);
    const flipped =
      note.slice(0, cut) +
      (sigBytes[10] === "A" ? sigBytes.slice(0, 10) + "B" : sigBytes.slice(0, 10) + "A") +
      sigBytes.slice(11) +
      "\n";
    expect((await postWitness(formatAddCheckpoint(0, [], flipped))).status).toBe(403);
    const stranger = (await ToyLog.create(`elsewhere.example/${freshOrigin()}`)).append(1);
    expect((await submit(stranger, 0)).status).toBe(404);
    // A prefix match must end at "/": "witness-test.example-evil/..." is not under "witness-test.example/".
    const lookalike = (await ToyLog.create(`${TEST_WITNESS.protocolLog.prefix.slice(0, -1)}-evil/x`)).append(1);
    expect((await submit(lookalike, 0)).status).toBe(404);
    await expectCosigned(await submit(log, 0), log);
  });

  it("400 (never 500) for malformed bodies, 413 for an oversized one, 405 for GET", async () => {
    const log = (await ToyLog.create()).append(3);
    const note = await log.checkpoint();
    const bodies = [
      "",
      "old 01\n\n" + note,
      "old -1\n\n" + note,
      "old 1\n",
      "old 0\nnot-base64!\n\n" + note,
      "old 0\n" + "AAAA\n" + "\n" + note,
      "old 0\n\nnot a note",
      "old 0\n\n" + note.replace("\n3\n", "\n03\n"),
      `old 0\n${"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n".repeat(64)}\n${note}`,
    ];
    for (const body of bodies) {
      const res = await postWitness(body);
      expect(res.status, JSON.stringify(body.slice(0, 40))).toBe(400);
    }
    expect((await postWitness(new Uint8Array([0x6f, 0x6c, 0x64, 0xff]))).status).toBe(400);
    expect((await postWitness("old 0\n\n" + note + "x".repeat(20_000))).status).toBe(413);
    expect((await postWitness("", "/add-checkpoint", { method: "GET", body: null })).status).toBe(405);
    await expectCosigned(await submit(log, 0), log);
  });
});

describe("test configuration", () => {
  it("trusts the test vault under the key name the vault signs with", async () => {
    const host = env.AUDIT_HOST ?? "";
    expect(host).toBe("vault.test");
    expect(vaultKeyName(host)).toBe(merkleKeyName(host));
  });
});

describe("parseAddCheckpoint", () => {
  it("splits old size, proof lines and the note; an empty proof is a blank line right after 'old'", () => {
    expect(parseAddCheckpoint("old 0\n\nx\n\n— k AAAA\n")).toEqual({
      ok: true,
      request: { oldSize: 0, proof: [], note: "x\n\n— k AAAA\n" },
    });
    const h = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    const parsed = parseAddCheckpoint(`old 3\n${h}\n${h}\n\nnote`);
    expect(parsed.ok && parsed.request.proof.length).toBe(2);
    expect(parseAddCheckpoint("old 3\n" + h + "\nnote").ok).toBe(false);
  });
});
