import { describe, expect, it } from "vitest";
import {
  genesisHash,
  nextEntry,
  verifyChain,
  type ChainHead,
  type StoredAuditEntry,
} from "../../../worker/core/audit/codec";
import {
  checkpointOrigin,
  formatCheckpoint,
  parseCheckpoint,
  signCheckpoint,
  verifyCheckpoint,
  type Checkpoint,
} from "../../../worker/core/audit/checkpoint";
import { toBase64 } from "../../../worker/core/audit/encoding";
import {
  createSigner,
  openNote,
  parseSignedNote,
  parseVerifierKey,
  verifierKey,
} from "../../../worker/core/audit/signed-note";

const SEED_A = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const SEED_B = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb";
const ORIGIN = "vault.example.com/audit/tenant-a";
const HEAD = "ab".repeat(32);

// The example in golang.org/x/mod/sumdb/note's package documentation: an independent
// implementation's output for the key ID formula, vkey encoding and signature line format.
const GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const GO_NOTE =
  "If you think cryptography is the answer to your problem,\n" +
  "then you don't know what your problem is.\n" +
  "\n" +
  "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

describe("signed-note", () => {
  it("verifies the Go sumdb/note documentation example with its published verifier key", async () => {
    const verifier = await parseVerifierKey(GO_VKEY);
    expect(verifier).not.toBeNull();
    const opened = await openNote(GO_NOTE, [verifier!]);
    expect(opened).toEqual({
      ok: true,
      text: "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n",
      verifiedBy: ["PeterNeumann"],
    });
    // Round trip of the vkey encoding from the parsed parts (its base64 contains a "+").
    expect(await verifierKey(verifier!.name, verifier!.publicKey)).toBe(GO_VKEY);
  });

  it("rejects a verifier key whose key ID does not match its name and key", async () => {
    expect(await parseVerifierKey(GO_VKEY.replace("c74f20a3", "c74f20a4"))).toBeNull();
    expect(await parseVerifierKey(GO_VKEY.replace("PeterNeumann", "PeterNeuman"))).toBeNull();
    expect(await parseVerifierKey("name+c74f20a3")).toBeNull();
  });

  it("ignores signatures by unknown keys but needs one trusted signature", async () => {
    const a = await createSigner(SEED_A, ORIGIN);
    const b = await createSigner(SEED_B, "witness.example");
    const note = `${formatCheckpoint({ origin: ORIGIN, size: 1, hash: HEAD })}\n`;
    const signed = await signCheckpoint(a, { origin: ORIGIN, size: 1, hash: HEAD });
    const bLine = (await signCheckpoint(b, { origin: ORIGIN, size: 1, hash: HEAD })).split("\n\n")[1]!;
    const both = signed + bLine;
    expect(parseSignedNote(both)).toMatchObject({
      ok: true,
      note: { signatures: [{ name: ORIGIN }, { name: "witness.example" }] },
    });
    const trusted = await parseVerifierKey(await verifierKey(a.name, a.publicKey));
    expect(await openNote(both, [trusted!])).toMatchObject({ ok: true, verifiedBy: [ORIGIN] });
    expect(await openNote(note + bLine, [trusted!])).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/no signature/),
    });
  });

  it.each<[string, string]>([
    ["no blank line", "a\n— k AAAAAAA=\n"],
    ["no signature", "a\n\n"],
    ["an ASCII dash instead of an em dash", "a\n\n-- k AAAAAAA=\n"],
    ["a signature too short for a key ID", "a\n\n— k AAAA\n"],
    ["non-canonical base64", "a\n\n— k AAAAAAB=\n"],
    ["a missing final newline", "a\n\n— k AAAAAAA="],
    ["a control character in the text", "a\u0007\n\n— k AAAAAAA=\n"],
    ["a name with a plus", "a\n\n— k+1 AAAAAAA=\n"],
  ])("parseSignedNote refuses %s", (_label, note) => {
    expect(parseSignedNote(note)).toMatchObject({ ok: false });
  });

  it("refuses to sign text that is not a valid note text", async () => {
    const a = await createSigner(SEED_A, ORIGIN);
    await expect(signCheckpoint(a, { origin: "", size: 0, hash: HEAD })).rejects.toThrow();
    await expect(createSigner(SEED_A, "bad name")).rejects.toThrow(/key name/);
    await expect(createSigner(SEED_A, "a+b")).rejects.toThrow(/key name/);
  });
});

describe("checkpoint body", () => {
  it("is origin, size and base64 head on three lines", async () => {
    const genesis = await genesisHash("tenant-a");
    const body = formatCheckpoint({ origin: ORIGIN, size: 0, hash: genesis });
    expect(body).toBe(`${ORIGIN}\n0\n${toBase64(Uint8Array.from(genesis.match(/../g)!, (h) => parseInt(h, 16)))}\n`);
    expect(parseCheckpoint(body)).toEqual({ ok: true, checkpoint: { origin: ORIGIN, size: 0, hash: genesis } });
  });

  it("builds the origin as <host>/audit/<tenant> and refuses unsafe parts", () => {
    expect(checkpointOrigin("vault.example.com", "tenant-a")).toBe(ORIGIN);
    expect(() => checkpointOrigin("vault.example.com", "a/b")).toThrow();
    expect(() => checkpointOrigin("vault example", "t")).toThrow();
    expect(() => checkpointOrigin("", "t")).toThrow();
  });

  it.each<[string, string]>([
    ["a leading zero in size", `${ORIGIN}\n01\n${toBase64(new Uint8Array(32))}\n`],
    ["a negative size", `${ORIGIN}\n-1\n${toBase64(new Uint8Array(32))}\n`],
    ["a 31-byte hash", `${ORIGIN}\n1\n${toBase64(new Uint8Array(31))}\n`],
    ["a missing hash line", `${ORIGIN}\n1\n`],
    ["no final newline", `${ORIGIN}\n1\n${toBase64(new Uint8Array(32))}`],
    ["an empty origin", `\n1\n${toBase64(new Uint8Array(32))}\n`],
  ])("parseCheckpoint refuses %s", (_label, body) => {
    expect(parseCheckpoint(body)).toMatchObject({ ok: false });
  });

  it("accepts extension lines and ignores them", () => {
    const body = `${ORIGIN}\n5\n${toBase64(new Uint8Array(32))}\nextension line\n`;
    expect(parseCheckpoint(body)).toMatchObject({ ok: true, checkpoint: { size: 5 } });
  });
});

describe("signed checkpoints", () => {
  const checkpoint: Checkpoint = { origin: ORIGIN, size: 42, hash: HEAD };

  it("positive control: sign then verify with the published verifier key", async () => {
    const signer = await createSigner(SEED_A, ORIGIN);
    const vkey = await verifierKey(ORIGIN, signer.publicKey);
    expect(vkey).toMatch(/^vault\.example\.com\/audit\/tenant-a\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}$/);
    const note = await signCheckpoint(signer, checkpoint);
    expect(note.startsWith(`${formatCheckpoint(checkpoint)}\n\u2014 ${ORIGIN} `)).toBe(true);
    expect(await verifyCheckpoint(note, vkey)).toEqual({ ok: true, checkpoint });
    expect(await verifyCheckpoint(note, vkey, { origin: ORIGIN })).toEqual({ ok: true, checkpoint });
  });

  it("rejects a checkpoint signed by another key under the same name", async () => {
    const trusted = await createSigner(SEED_A, ORIGIN);
    const other = await createSigner(SEED_B, ORIGIN);
    const note = await signCheckpoint(other, checkpoint);
    const result = await verifyCheckpoint(note, await verifierKey(ORIGIN, trusted.publicKey));
    expect(result).toMatchObject({ ok: false, reason: expect.stringMatching(/no signature by a trusted key/) });
  });

  it("rejects another key's signature relabelled with the trusted key ID", async () => {
    const trusted = await createSigner(SEED_A, ORIGIN);
    const other = await createSigner(SEED_B, ORIGIN);
    const forgedSigner = { ...other, keyId: trusted.keyId };
    const note = await signCheckpoint(forgedSigner, checkpoint);
    const result = await verifyCheckpoint(note, await verifierKey(ORIGIN, trusted.publicKey));
    expect(result).toMatchObject({ ok: false, reason: expect.stringMatching(/invalid signature by trusted key/) });
  });

  it.each<[string, (note: string) => string]>([
    ["size changed", (n) => n.replace("\n42\n", "\n43\n")],
    ["origin changed", (n) => n.replace("tenant-a", "tenant-b")],
    ["hash changed", (n) => n.replace("q6ur", "q6us")],
    // Ten characters from the end is inside the signature bytes, clear of the base64 padding.
    ["signature changed", (n) => n.slice(0, -10) + (n.at(-10) === "A" ? "B" : "A") + n.slice(-9)],
  ])("rejects a note with the %s", async (_label, tamper) => {
    const signer = await createSigner(SEED_A, ORIGIN);
    const vkey = await verifierKey(ORIGIN, signer.publicKey);
    const note = await signCheckpoint(signer, checkpoint);
    const tampered = tamper(note);
    expect(tampered).not.toBe(note);
    expect(await verifyCheckpoint(tampered, vkey)).toMatchObject({ ok: false });
  });

  it("rejects a valid checkpoint of another origin when an origin is expected", async () => {
    const signer = await createSigner(SEED_A, ORIGIN);
    const note = await signCheckpoint(signer, { ...checkpoint, origin: "vault.example.com/audit/tenant-b" });
    const result = await verifyCheckpoint(note, await verifierKey(ORIGIN, signer.publicKey), { origin: ORIGIN });
    expect(result).toMatchObject({ ok: false, reason: expect.stringMatching(/origin/) });
  });

  it("reports a bad verifier key instead of throwing", async () => {
    const signer = await createSigner(SEED_A, ORIGIN);
    const note = await signCheckpoint(signer, checkpoint);
    expect(await verifyCheckpoint(note, "not a key")).toMatchObject({ ok: false });
  });

  it("anchors chain verification: a verified checkpoint catches a rewritten tail", async () => {
    const signer = await createSigner(SEED_A, ORIGIN);
    const vkey = await verifierKey(ORIGIN, signer.publicKey);
    const rows: StoredAuditEntry[] = [];
    let head: ChainHead | null = null;
    const append = async (n: number, outcome: "success" | "denied") => {
      const built = await nextEntry(head, {
        tenant: "tenant-a",
        ts: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
        type: "credential.read",
        actor: { identity: "bob" },
        target: null,
        outcome,
        request_id: `req_${n}`,
        details: {},
      });
      rows.push({ entry: built.entry, hash: built.hash });
      head = { seq: built.entry.seq, hash: built.hash };
    };
    for (let n = 1; n <= 5; n++) await append(n, "success");
    const note = await signCheckpoint(signer, { origin: ORIGIN, size: 5, hash: rows[4]!.hash });
    const verified = await verifyCheckpoint(note, vkey, { origin: ORIGIN });
    if (!verified.ok) throw new Error(verified.reason);
    const anchors = [{ seq: verified.checkpoint.size, hash: verified.checkpoint.hash }];
    const genesis = await genesisHash("tenant-a");
    expect(await verifyChain(rows, genesis, 1, { anchors })).toMatchObject({ ok: true, count: 5 });
    // Rewrite entry 5 and recompute its hash: the chain alone cannot tell, the checkpoint can.
    rows.pop();
    head = { seq: 4, hash: rows[3]!.hash };
    await append(5, "denied");
    expect(await verifyChain(rows, genesis, 1)).toMatchObject({ ok: true });
    expect(await verifyChain(rows, genesis, 1, { anchors })).toMatchObject({ ok: false, seq: 5 });
  });
});
