import { describe, expect, it } from "vitest";
import hmacVectors from "../../../../shared/vectors/wycheproof/hmac_sha256_test.json";
import {
  entryBytes,
  entryHashInput,
  genesisHash,
  hashEntry,
  hmacField,
  nextEntry,
  nextEntrySync,
  verifyChain,
  type AuditFields,
  type ChainHead,
  type StoredAuditEntry,
} from "../../../worker/core/audit/codec";
import { fromHex, sha256 } from "../../../worker/core/audit/encoding";
import { leafHash } from "../../../worker/core/audit/merkle";
import { hmacSha256HexSync, sha256Sync } from "../../../worker/core/crypto/sha256-sync";
import { sha256Js } from "../../../worker/core/crypto/sha256-js";
import type { AuditEntry } from "../../../worker/core/audit/entry";

const TENANT = "tenant-a";

function fields(n: number, overrides: Partial<AuditFields> = {}): AuditFields {
  return {
    tenant: TENANT,
    ts: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
    type: "lease.created",
    actor: { identity: "alice@example.com", token_id: "tok_1", agent: { name: "ci", host: "runner-1" } },
    target: { kind: "credential", id: `cred_${n}`, version: 1 },
    outcome: "success",
    request_id: `req_${n}`,
    details: { ttl: 300, n },
    ...overrides,
  };
}

/** A fresh chain of `count` entries, as rows with their stored hashes. */
async function buildChain(count: number): Promise<StoredAuditEntry[]> {
  const rows: StoredAuditEntry[] = [];
  let head: ChainHead | null = null;
  for (let n = 1; n <= count; n++) {
    const { entry, hash } = await nextEntry(head, fields(n));
    rows.push({ entry, hash });
    head = { seq: entry.seq, hash };
  }
  return rows;
}

const entryAt = (rows: StoredAuditEntry[], i: number): AuditEntry => rows[i]!.entry as AuditEntry;

/**
 * The chain with each entry passed through `change` and every link and hash recomputed, as the
 * vault would have written it: e.g. a log whose first entries predate v2.
 */
async function relinked(rows: StoredAuditEntry[], change: (e: AuditEntry) => AuditEntry): Promise<StoredAuditEntry[]> {
  const out: StoredAuditEntry[] = [];
  let prev = await genesisHash(TENANT);
  for (const row of rows) {
    const entry = { ...change(row.entry as AuditEntry), prev_hash: prev };
    prev = await hashEntry(entry);
    out.push({ entry, hash: prev });
  }
  return out;
}

describe("genesis, bytes and hash", () => {
  it("genesis is SHA-256 of 'gv-audit-genesis:' + tenant (value computed outside this code)", async () => {
    expect(await genesisHash(TENANT)).toBe("317c4119ec05de75d66ffa94a9440ceaddb9d70dbb69de00db67719144128f5b");
    expect(await genesisHash("tenant-b")).not.toBe(await genesisHash(TENANT));
  });

  it("entry bytes are the RFC 8785 form of the entry, pinned byte for byte; a v2 hash is SHA-256(0x00 ‖ bytes)", async () => {
    const { entry, bytes, hash } = await nextEntry(null, fields(1));
    const expected =
      '{"actor":{"agent":{"host":"runner-1","name":"ci"},"identity":"alice@example.com","token_id":"tok_1"},' +
      '"details":{"n":1,"ttl":300},"outcome":"success",' +
      `"prev_hash":"${await genesisHash(TENANT)}","request_id":"req_1","seq":1,` +
      '"target":{"id":"cred_1","kind":"credential","version":1},"tenant":"tenant-a",' +
      '"ts":"2026-01-01T00:00:01.000Z","type":"lease.created","v":2}';
    expect(new TextDecoder().decode(bytes)).toBe(expected);
    expect(entryBytes(entry)).toEqual(bytes);
    // Computed here with WebCrypto over 0x00 ‖ the bytes, not through the codec.
    const leafInput = new Uint8Array([0, ...new TextEncoder().encode(expected)]);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", leafInput));
    expect(fromHex(hash)).toEqual(digest);
    expect(await hashEntry(entry)).toBe(hash);
    // The same value as the RFC 6962 leaf hash of the bytes (merkle.ts, checked against Go's tlog).
    expect(fromHex(hash)).toEqual(await leafHash(sha256, bytes));
  });

  it("a v1 entry (written before v2) keeps its hash: SHA-256 of the bytes alone, pinned", async () => {
    const v1 = { ...(await nextEntry(null, fields(1))).entry, v: 1 as const };
    const text = new TextDecoder().decode(entryBytes(v1));
    expect(text.endsWith('"type":"lease.created","v":1}')).toBe(true);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
    expect(fromHex(await hashEntry(v1))).toEqual(digest);
    // The two versions never share a hash input: v2's starts with a zero byte, JSON never does.
    expect(entryHashInput(1, entryBytes(v1))[0]).toBe(0x7b);
    expect(entryHashInput(2, entryBytes(v1))[0]).toBe(0x00);
  });

  it("the synchronous path (the Durable Object's append, JavaScript SHA-256; node:crypto) gives the same genesis, entries, bytes and hashes", async () => {
    for (const sha of [sha256Js, sha256Sync]) {
      expect(genesisHash(TENANT, sha)).toBe(await genesisHash(TENANT));
      let head: ChainHead | null = null;
      for (let n = 1; n <= 3; n++) {
        const sync = nextEntrySync(head, fields(n), sha);
        const viaWebCrypto = await nextEntry(head, fields(n));
        expect(sync).toEqual(viaWebCrypto);
        expect(sync.digest).toEqual(fromHex(sync.hash));
        head = { seq: sync.entry.seq, hash: sync.hash };
      }
    }
    expect(() => nextEntrySync(null, fields(1, { type: "Not An Event" }), sha256Sync)).toThrow(/invalid audit entry/);
  });
});

describe("nextEntry", () => {
  it("starts at seq 1 from the genesis hash and links each entry to the previous hash", async () => {
    const rows = await buildChain(3);
    expect(rows.map((r) => entryAt(rows, rows.indexOf(r)).seq)).toEqual([1, 2, 3]);
    expect(entryAt(rows, 0).prev_hash).toBe(await genesisHash(TENANT));
    expect(entryAt(rows, 1).prev_hash).toBe(rows[0]!.hash);
    expect(entryAt(rows, 2).prev_hash).toBe(rows[1]!.hash);
  });

  it("drops optional actor and target members left undefined", async () => {
    const { entry } = await nextEntry(
      null,
      fields(1, { actor: { identity: "system", token_id: undefined, agent: undefined } }),
    );
    expect(entry.actor).toEqual({ identity: "system" });
    expect(Object.keys(entry.actor)).toEqual(["identity"]);
  });

  it("accepts a null target and a null request id (alarm-driven events)", async () => {
    const { entry } = await nextEntry({ seq: 7, hash: "a".repeat(64) }, fields(1, { target: null, request_id: null }));
    expect(entry.seq).toBe(8);
    expect(entry.prev_hash).toBe("a".repeat(64));
  });

  it.each<[string, Partial<AuditFields>]>([
    ["a timestamp without milliseconds", { ts: "2026-01-01T00:00:00Z" }],
    ["a timestamp with an offset", { ts: "2026-01-01T01:00:00.000+01:00" }],
    ["an undotted type", { type: "created" }],
    ["an unknown outcome", { outcome: "maybe" as "success" }],
    ["an undefined detail", { details: { x: undefined as unknown as number } }],
    ["a non-JSON detail", { details: { when: new Date() as unknown as string } }],
    ["an empty identity", { actor: { identity: "" } }],
  ])("refuses %s", async (_label, overrides) => {
    await expect(nextEntry(null, fields(1, overrides))).rejects.toThrow(/invalid audit entry/);
  });

  it("refuses extra top-level members (objects are strict)", async () => {
    const extra = { ...fields(1), secret: "x" } as AuditFields;
    await expect(nextEntry(null, extra)).rejects.toThrow(/invalid audit entry/);
  });
});

/**
 * Entry 5 edited with its hash recomputed: caught at seq 6, whose prev_hash still names the
 * original, or at seq 5 itself when a signed checkpoint (an anchor) holds the original hash.
 */
async function expectCaughtAtSeq5(rows: StoredAuditEntry[], original: string, label = "") {
  const genesis = await genesisHash(TENANT);
  expect(await verifyChain(rows, genesis, 1), label).toMatchObject({
    ok: false,
    seq: 6,
    reason: expect.stringMatching(/hash of seq 5/),
  });
  expect(await verifyChain(rows, genesis, 1, { anchors: [{ seq: 5, hash: original }] }), label).toMatchObject({
    ok: false,
    seq: 5,
    reason: expect.stringMatching(/signed checkpoint/),
  });
}

describe("verifyChain", () => {
  it("positive control: an untouched chain verifies, with its head", async () => {
    const rows = await buildChain(10);
    const result = await verifyChain(rows, await genesisHash(TENANT), 1, { tenant: TENANT });
    expect(result).toEqual({ ok: true, count: 10, head: { seq: 10, hash: rows[9]!.hash } });
  });

  it("verifies a sub-range from the hash before it, and an empty range", async () => {
    const rows = await buildChain(10);
    expect(await verifyChain(rows.slice(3), rows[2]!.hash, 4)).toEqual({
      ok: true,
      count: 7,
      head: { seq: 10, hash: rows[9]!.hash },
    });
    expect(await verifyChain([], rows[2]!.hash, 4)).toEqual({
      ok: true,
      count: 0,
      head: { seq: 3, hash: rows[2]!.hash },
    });
  });

  it("edited field, stored hash unchanged: reported at that seq", async () => {
    const rows = await buildChain(10);
    rows[4] = { ...rows[4]!, entry: { ...entryAt(rows, 4), outcome: "denied" } };
    const result = await verifyChain(rows, await genesisHash(TENANT), 1);
    expect(result).toMatchObject({ ok: false, seq: 5, reason: expect.stringMatching(/stored hash/) });
  });

  it("edited field with its hash recomputed: caught at the next link, or at the seq with an anchor", async () => {
    const rows = await buildChain(10);
    const original = rows[4]!.hash;
    const edited = { ...entryAt(rows, 4), details: { ttl: 99999, n: 5 } };
    rows[4] = { entry: edited, hash: await hashEntry(edited) };
    await expectCaughtAtSeq5(rows, original);
  });

  it("a log written as v1 and continued as v2 verifies across the switch; each entry's leaf is its RFC 6962 leaf hash", async () => {
    const rows = await relinked(await buildChain(8), (entry) => (entry.seq <= 3 ? { ...entry, v: 1 } : entry));
    expect(rows.map((r) => (r.entry as AuditEntry).v)).toEqual([1, 1, 1, 2, 2, 2, 2, 2]);
    const leaves: Uint8Array[] = [];
    const result = await verifyChain(rows, await genesisHash(TENANT), 1, {
      onVerified: (leaf) => void leaves.push(leaf),
    });
    expect(result).toEqual({ ok: true, count: 8, head: { seq: 8, hash: rows[7]!.hash } });
    const expected = await Promise.all(rows.map((r) => leafHash(sha256, entryBytes(r.entry as AuditEntry))));
    expect(leaves).toEqual(expected);
    // v1 entries: the leaf is a hash of its own; v2 entries: the leaf is the entry hash.
    expect(fromHex(rows[2]!.hash)).not.toEqual(leaves[2]);
    expect(fromHex(rows[3]!.hash)).toEqual(leaves[3]);
  });

  it("an entry relabelled to the other version, its hash recomputed that version's way: caught at the next link, or at the seq with an anchor", async () => {
    for (const [from, to] of [
      [2, 1],
      [1, 2],
    ] as const) {
      const rows = await relinked(await buildChain(8), (entry) => ({ ...entry, v: from }));
      // Positive control: the rows untouched verify.
      expect(await verifyChain(rows, await genesisHash(TENANT), 1), `v${from}`).toMatchObject({ ok: true });
      const original = rows[4]!.hash;
      const relabelled = { ...entryAt(rows, 4), v: to };
      rows[4] = { entry: relabelled, hash: await hashEntry(relabelled) };
      await expectCaughtAtSeq5(rows, original, `v${from} → v${to}`);
    }
  });

  it("deleted row: reported at the missing seq", async () => {
    const rows = await buildChain(10);
    rows.splice(6, 1);
    const result = await verifyChain(rows, await genesisHash(TENANT), 1);
    expect(result).toMatchObject({ ok: false, seq: 7, reason: expect.stringMatching(/missing/) });
  });

  it("two rows swapped: reported at the first seq out of place", async () => {
    const rows = await buildChain(10);
    [rows[2], rows[3]] = [rows[3]!, rows[2]!];
    const result = await verifyChain(rows, await genesisHash(TENANT), 1);
    expect(result).toMatchObject({ ok: false, seq: 3, reason: expect.stringMatching(/out of order/) });
  });

  it("inserted row with a valid link and hash: reported at the seq it duplicates", async () => {
    const rows = await buildChain(10);
    const forged = await nextEntry({ seq: 3, hash: rows[2]!.hash }, fields(4, { outcome: "denied" }));
    rows.splice(3, 0, { entry: forged.entry, hash: forged.hash });
    const result = await verifyChain(rows, await genesisHash(TENANT), 1);
    expect(result).toMatchObject({ ok: false, seq: 4, reason: expect.stringMatching(/appears again/) });
  });

  it("inserted row with renumbered successors: reported at the first broken link", async () => {
    const rows = await buildChain(6);
    const forged = await nextEntry({ seq: 3, hash: rows[2]!.hash }, fields(4));
    const renumbered = rows.slice(3).map((r) => {
      const entry = { ...(r.entry as AuditEntry), seq: (r.entry as AuditEntry).seq + 1 };
      return { entry, hash: r.hash };
    });
    const tampered = [...rows.slice(0, 3), { entry: forged.entry, hash: forged.hash }, ...renumbered];
    const result = await verifyChain(tampered, await genesisHash(TENANT), 1);
    expect(result).toMatchObject({ ok: false, seq: 5 });
  });

  it("wrong genesis (another tenant's) or wrong tenant: reported at seq 1", async () => {
    const rows = await buildChain(3);
    expect(await verifyChain(rows, await genesisHash("tenant-b"), 1)).toMatchObject({ ok: false, seq: 1 });
    expect(await verifyChain(rows, await genesisHash(TENANT), 1, { tenant: "tenant-b" })).toMatchObject({
      ok: false,
      seq: 1,
      reason: expect.stringMatching(/tenant/),
    });
  });

  it("a chain built over another genesis does not verify against this tenant's", async () => {
    const rows = await buildChain(3);
    const otherGenesis = { ...entryAt(rows, 0), prev_hash: await genesisHash("tenant-b") };
    rows[0] = { entry: otherGenesis, hash: await hashEntry(otherGenesis) };
    expect(await verifyChain(rows, await genesisHash(TENANT), 1)).toMatchObject({ ok: false, seq: 1 });
  });

  it("a malformed row (extra member, wrong type) is reported, not thrown", async () => {
    const rows = await buildChain(4);
    rows[1] = { ...rows[1]!, entry: { ...entryAt(rows, 1), extra: 1 } };
    expect(await verifyChain(rows, await genesisHash(TENANT), 1)).toMatchObject({
      ok: false,
      seq: 2,
      reason: expect.stringMatching(/malformed/),
    });
    rows[1] = { ...rows[1]!, entry: "not an object" };
    expect(await verifyChain(rows, await genesisHash(TENANT), 1)).toMatchObject({ ok: false, seq: 2 });
  });

  it("a range started at the wrong seq is reported at the expected seq", async () => {
    const rows = await buildChain(4);
    expect(await verifyChain(rows, await genesisHash(TENANT), 2)).toMatchObject({ ok: false, seq: 1 });
    expect(await verifyChain(rows.slice(1), rows[0]!.hash, 1)).toMatchObject({
      ok: false,
      seq: 1,
      reason: expect.stringMatching(/missing/),
    });
  });
});

describe("hmacField", () => {
  const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
  /** The message as a string when it is valid UTF-8: hmacField MACs the UTF-8 of a string. */
  const asText = (msgHex: string): string | null => {
    try {
      return utf8.decode(fromHex(msgHex)!);
    } catch {
      return null;
    }
  };

  it("matches RFC 4231 test cases 6 and 7 (the ones whose keys are >= 32 bytes)", async () => {
    const key = new Uint8Array(131).fill(0xaa);
    expect(await hmacField(key, "Test Using Larger Than Block-Size Key - Hash Key First")).toBe(
      "hmac-sha256:60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
    );
    expect(
      await hmacField(
        key,
        "This is a test using a larger than block-size key and a larger than block-size data. " +
          "The key needs to be hashed before being used by the HMAC algorithm.",
      ),
    ).toBe("hmac-sha256:9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
  });

  it("agrees with Wycheproof HMAC-SHA-256 (32-byte keys, full tags, UTF-8 messages)", async () => {
    const cases = hmacVectors.testGroups
      .filter((g) => g.keySize === 256 && g.tagSize === 256)
      .flatMap((g) => g.tests)
      .flatMap((t) => {
        const text = asText(t.msg);
        return text === null ? [] : [{ ...t, text }];
      });
    const counts = { valid: 0, invalid: 0 };
    for (const t of cases) {
      const field = await hmacField(fromHex(t.key)!, t.text);
      expect(field === `hmac-sha256:${t.tag}`, `tcId ${t.tcId}`).toBe(t.result === "valid");
      counts[t.result === "valid" ? "valid" : "invalid"]++;
    }
    // Few random messages are valid UTF-8; the counts guard against a vacuous loop.
    expect(counts.valid).toBeGreaterThanOrEqual(2);
    expect(counts.invalid).toBeGreaterThanOrEqual(50);
  });

  it("is deterministic per key and differs across keys; refuses short keys", async () => {
    const k1 = new Uint8Array(32).fill(1);
    const k2 = new Uint8Array(32).fill(2);
    const a = await hmacField(k1, "alice@example.com");
    expect(a).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(await hmacField(k1, "alice@example.com")).toBe(a);
    expect(await hmacField(k2, "alice@example.com")).not.toBe(a);
    const key = await crypto.subtle.importKey("raw", k1, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    expect(await hmacField(key, "alice@example.com")).toBe(a);
    await expect(hmacField(new Uint8Array(16), "x")).rejects.toThrow(/32 bytes/);
    // The synchronous HMAC (the Durable Object's token fingerprints) gives the same field.
    expect(hmacField(k1, "alice@example.com", hmacSha256HexSync)).toBe(a);
    expect(() => hmacField(new Uint8Array(16), "x", hmacSha256HexSync)).toThrow(/32 bytes/);
  });
});
