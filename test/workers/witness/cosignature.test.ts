import { describe, expect, it } from "vitest";
import { signCheckpoint, type Checkpoint } from "../../../worker/core/audit/checkpoint";
import {
  cosign,
  cosignerVerifierKey,
  createCosigner,
  parseCosignerKey,
  verifyCosignature,
  verifyWitnessQuorum,
  type CosignerKey,
} from "../../../worker/core/audit/cosignature";
import { fromBase64, toBase64 } from "../../../worker/core/audit/encoding";
import { createSigner, parseSignedNote, verifierKey } from "../../../worker/core/audit/signed-note";
import vectors from "./cosignature-vectors.json";

// Made by Go's golang.org/x/mod/sumdb/note and crypto/ed25519 (cosignature-vectors.gen.go).
const LOG_SEED = "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7";
const W1_SEED = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const W2_SEED = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb";
const W3_SEED = "f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5";
const ORIGIN = "vault.test/audit-merkle/tenant-a";
const CHECKPOINT: Checkpoint = { origin: ORIGIN, size: 7, hash: "ab".repeat(32) };
const T = 1_764_600_000;

async function fixture() {
  const log = await createSigner(LOG_SEED, ORIGIN);
  const logVkey = await verifierKey(log.name, log.publicKey);
  const w = await Promise.all([W1_SEED, W2_SEED, W3_SEED].map((s, i) => createCosigner(s, `witness.test/w${i + 1}`)));
  const keys: CosignerKey[] = w.map((c) => ({ name: c.name, keyId: c.keyId, publicKey: c.publicKey }));
  const note = await signCheckpoint(log, CHECKPOINT);
  const body = note.slice(0, note.lastIndexOf("\n\n") + 1);
  return { log, logVkey, w, keys, note, body };
}

describe("cosignature/v1 against Go's sumdb/note and crypto/ed25519", () => {
  for (const v of vectors) {
    it(`reproduces ${v.name} at time ${v.timestamp} byte for byte and verifies it`, async () => {
      const cosigner = await createCosigner(v.seed, v.name);
      expect(await cosignerVerifierKey(v.name, cosigner.publicKey)).toBe(v.vkey);
      const line = await cosign(cosigner, v.body, v.timestamp);
      expect(`${v.body}\n${line}`).toBe(v.note);
      const key = await parseCosignerKey(v.vkey);
      const parsed = parseSignedNote(v.note);
      if (!key || !parsed.ok) throw new Error("vector does not parse");
      expect(await verifyCosignature(key, v.body, parsed.note.signatures[0]!)).toEqual({
        ok: true,
        timestamp: v.timestamp,
      });
    });
  }

  it("uses key type 0x04: the key ID differs from a signed-note (0x01) key ID of the same key", async () => {
    const v = vectors[0]!;
    const cosigner = await createCosigner(v.seed, v.name);
    const asLogKey = await createSigner(v.seed, v.name);
    expect(toBase64(cosigner.keyId)).not.toBe(toBase64(asLogKey.keyId));
    // A log vkey (type 0x01) is not accepted as a witness key, and the reverse.
    expect(await parseCosignerKey(await verifierKey(v.name, cosigner.publicKey))).toBeNull();
    expect(await parseCosignerKey(v.vkey)).not.toBeNull();
    expect(await parseCosignerKey(v.vkey.replace("+7e6f4aaa+", "+7e6f4aab+"))).toBeNull();
  });
});

describe("verifyCosignature tamper", () => {
  it("accepts the untouched cosignature (control) and refuses an edited body", async () => {
    const { w, keys, body } = await fixture();
    const line = parseSignedNote(`${body}\n${await cosign(w[0]!, body, T)}`);
    if (!line.ok) throw new Error(line.reason);
    const sig = line.note.signatures[0]!;
    expect(await verifyCosignature(keys[0]!, body, sig)).toEqual({ ok: true, timestamp: T });
    const edited = body.replace("\n7\n", "\n8\n");
    expect(await verifyCosignature(keys[0]!, edited, sig)).toMatchObject({ ok: false });
  });

  it("refuses a cosignature checked against another witness's key, and a changed timestamp", async () => {
    const { w, keys, body } = await fixture();
    const parsed = parseSignedNote(`${body}\n${await cosign(w[0]!, body, T)}`);
    if (!parsed.ok) throw new Error(parsed.reason);
    const sig = parsed.note.signatures[0]!;
    // Same name and key ID claimed, but another public key: the signature must not verify.
    expect(await verifyCosignature({ ...keys[0]!, publicKey: keys[1]!.publicKey }, body, sig)).toMatchObject({
      ok: false,
    });
    const moved = sig.signature.slice();
    moved[7] = moved[7]! ^ 1;
    expect(await verifyCosignature(keys[0]!, body, { ...sig, signature: moved })).toMatchObject({ ok: false });
  });

  it("never makes and refuses a timestamp of 0 even with a valid Ed25519 signature over it", async () => {
    const { w, keys, body } = await fixture();
    await expect(cosign(w[0]!, body, 0)).rejects.toThrow(/timestamp/);
    // Forge the line the way a careless witness would: a real signature over "time 0".
    const raw = await w[0]!.sign(new TextEncoder().encode(`cosignature/v1\ntime 0\n${body}`));
    const zero = new Uint8Array(8 + 64);
    zero.set(raw, 8);
    expect(await verifyCosignature(keys[0]!, body, { name: w[0]!.name, keyId: w[0]!.keyId, signature: zero })).toEqual({
      ok: false,
      reason: `cosignature by ${w[0]!.name} has an invalid timestamp`,
    });
    // Control: the same construction at time 1 verifies.
    const one = await w[0]!.sign(new TextEncoder().encode(`cosignature/v1\ntime 1\n${body}`));
    const ok = new Uint8Array(8 + 64);
    ok[7] = 1;
    ok.set(one, 8);
    expect(await verifyCosignature(keys[0]!, body, { name: w[0]!.name, keyId: w[0]!.keyId, signature: ok })).toEqual({
      ok: true,
      timestamp: 1,
    });
  });
});

describe("verifyWitnessQuorum", () => {
  it("counts distinct known witnesses: 2 of 3 passes (control), a duplicated line counts once", async () => {
    const { w, keys, note, body, logVkey } = await fixture();
    const l1 = await cosign(w[0]!, body, T);
    const l2 = await cosign(w[1]!, body, T + 5);
    const two = await verifyWitnessQuorum(note + l1 + l2, logVkey, keys, 2, { origin: ORIGIN });
    expect(two).toEqual({ ok: true, checkpoint: CHECKPOINT, cosignedBy: ["witness.test/w1", "witness.test/w2"] });
    // The same witness twice (even with two different timestamps) is one witness.
    const dup = await verifyWitnessQuorum(note + l1 + (await cosign(w[0]!, body, T + 9)), logVkey, keys, 2);
    expect(dup).toMatchObject({ ok: false, cosignedBy: ["witness.test/w1"] });
  });

  it("counts two configured names that share one public key once", async () => {
    const { w, keys, note, body, logVkey } = await fixture();
    const alias = await createCosigner(W1_SEED, "witness.test/alias");
    const aliasKey = { name: alias.name, keyId: alias.keyId, publicKey: alias.publicKey };
    const lines = (await cosign(w[0]!, body, T)) + (await cosign(alias, body, T));
    expect(await verifyWitnessQuorum(note + lines, logVkey, [...keys, aliasKey], 2)).toMatchObject({ ok: false });
    expect(
      await verifyWitnessQuorum(note + lines + (await cosign(w[2]!, body, T)), logVkey, [...keys, aliasKey], 2),
    ).toMatchObject({ ok: true });
  });

  it("ignores unknown witnesses and refuses a note whose known witness line fails", async () => {
    const { w, keys, note, body, logVkey } = await fixture();
    const stranger = await createCosigner(W3_SEED, "witness.test/stranger");
    const good = await cosign(w[0]!, body, T);
    expect(await verifyWitnessQuorum(note + good + (await cosign(stranger, body, T)), logVkey, keys, 1)).toMatchObject({
      ok: true,
      cosignedBy: ["witness.test/w1"],
    });
    // A cosignature made over another body, pasted under this checkpoint.
    const foreign = await cosign(w[1]!, body.replace("\n7\n", "\n6\n"), T);
    expect(await verifyWitnessQuorum(note + good + foreign, logVkey, keys, 1)).toMatchObject({
      ok: false,
      reason: "invalid cosignature by witness witness.test/w2",
    });
  });

  it("needs the log's own signature first: cosignatures alone are not a checkpoint", async () => {
    const { w, keys, body, logVkey, note } = await fixture();
    const lines = (await cosign(w[0]!, body, T)) + (await cosign(w[1]!, body, T));
    expect(await verifyWitnessQuorum(`${body}\n${lines}`, logVkey, keys, 2)).toMatchObject({
      ok: false,
      reason: "no signature by a trusted key",
    });
    expect(await verifyWitnessQuorum(note + lines, logVkey, keys, 2)).toMatchObject({ ok: true });
    expect(
      await verifyWitnessQuorum(note + lines, logVkey, keys, 2, { origin: "vault.test/audit-merkle/other" }),
    ).toMatchObject({ ok: false });
  });

  it("rejects a garbled witness signature blob without throwing", async () => {
    const { w, keys, note, logVkey } = await fixture();
    const short = `\u2014 ${w[0]!.name} ${toBase64(Uint8Array.of(...w[0]!.keyId, 1, 2, 3))}\n`;
    expect(await verifyWitnessQuorum(note + short, logVkey, keys, 1)).toMatchObject({ ok: false });
    expect(fromBase64(toBase64(w[0]!.keyId))).toEqual(w[0]!.keyId);
    expect(await verifyWitnessQuorum(note, logVkey, keys, 0)).toMatchObject({ ok: true, cosignedBy: [] });
  });
});
