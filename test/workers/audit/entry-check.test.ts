import { describe, expect, it } from "vitest";
import { seededRandom } from "../support/seeded-random";
import { nextEntrySync, type AuditFields } from "../../../worker/core/audit/codec";
import { auditEntrySchema, looksLikeAuditEntry } from "../../../worker/core/audit/entry";
import { sha256HexSync, sha256Sync } from "../../../worker/core/crypto/sha256-sync";
import { entryHashInput } from "../../../worker/core/audit/codec";

// The append path checks each new entry by hand (looksLikeAuditEntry) and asks the zod schema only
// when that check says no (issue 16). The hand check may be stricter than the schema, never looser:
// an entry it lets through that the schema refuses would be written to the chain and then fail
// every verifier. These tests compare the two on valid entries, on one mutation per field, and on
// a few thousand seeded random mutations.

const VALID = {
  v: 2,
  tenant: "tenant-a",
  seq: 7,
  ts: "2026-01-01T00:00:07.000Z",
  type: "lease.created",
  actor: { identity: "alice@example.com", token_id: "tok_1", agent: { name: "ci", host: "runner-1" } },
  target: { kind: "credential", id: "cred_1", version: 1 },
  outcome: "success",
  request_id: "req_1",
  details: { ttl: 300, nested: { list: [1, "two", null, true] } },
  prev_hash: "a".repeat(64),
};

type Entry = Record<string, unknown>;
const clone = (): Entry => structuredClone(VALID) as Entry;
const agree = (e: unknown) => ({ hand: looksLikeAuditEntry(e), schema: auditEntrySchema.safeParse(e).success });

describe("looksLikeAuditEntry against auditEntrySchema", () => {
  it("accepts the entries the schema accepts in the shapes the vault writes (positive control)", () => {
    const variants: Entry[] = [
      clone(),
      { ...clone(), target: null, request_id: null },
      { ...clone(), actor: { identity: "system" } },
      { ...clone(), target: { kind: "token", id: "tok_2" } },
      { ...clone(), details: {} },
      { ...clone(), outcome: "denied", type: "auth.denied", ts: "2024-02-29T23:59:59.999Z" },
    ];
    for (const v of variants) expect(agree(v)).toEqual({ hand: true, schema: true });
  });

  it("refuses every field the schema refuses", () => {
    const broken: [string, (e: Entry) => void][] = [
      ["extra top-level key", (e) => (e.extra = 1)],
      ["missing key", (e) => delete e.prev_hash],
      ["v 3", (e) => (e.v = 3)],
      ["v 0", (e) => (e.v = 0)],
      ["v as a string", (e) => (e.v = "2")],
      ["empty tenant", (e) => (e.tenant = "")],
      ["seq 0", (e) => (e.seq = 0)],
      ["seq 1.5", (e) => (e.seq = 1.5)],
      ["seq as a string", (e) => (e.seq = "7")],
      ["ts without milliseconds", (e) => (e.ts = "2026-01-01T00:00:07Z")],
      ["ts with an offset", (e) => (e.ts = "2026-01-01T01:00:07.000+01:00")],
      ["ts on 30 February", (e) => (e.ts = "2026-02-30T00:00:07.000Z")],
      ["ts hour 24", (e) => (e.ts = "2026-01-01T24:00:00.000Z")],
      ["undotted type", (e) => (e.type = "lease")],
      ["upper-case type", (e) => (e.type = "Lease.created")],
      ["actor extra key", (e) => ((e.actor as Entry).role = "admin")],
      ["empty identity", (e) => ((e.actor as Entry).identity = "")],
      ["empty token id", (e) => ((e.actor as Entry).token_id = "")],
      ["agent extra key", (e) => (((e.actor as Entry).agent as Entry).secret = "x")],
      ["agent empty field", (e) => (((e.actor as Entry).agent as Entry).name = "")],
      ["agent not an object", (e) => ((e.actor as Entry).agent = "ci")],
      ["target extra key", (e) => ((e.target as Entry).name = "db")],
      ["target empty id", (e) => ((e.target as Entry).id = "")],
      ["target negative version", (e) => ((e.target as Entry).version = -1)],
      ["target fractional version", (e) => ((e.target as Entry).version = 1.5)],
      ["target undefined", (e) => (e.target = undefined)],
      ["outcome unknown", (e) => (e.outcome = "maybe")],
      ["empty request id", (e) => (e.request_id = "")],
      ["details an array", (e) => (e.details = [])],
      ["details null", (e) => (e.details = null)],
      ["prev_hash upper case", (e) => (e.prev_hash = "A".repeat(64))],
      ["prev_hash short", (e) => (e.prev_hash = "a".repeat(63))],
      ["an array", () => undefined],
    ];
    for (const [name, mutate] of broken) {
      const e = clone();
      mutate(e);
      const input = name === "an array" ? [e] : e;
      expect({ name, ...agree(input) }).toEqual({ name, hand: false, schema: false });
    }
  });

  it("never accepts what the schema refuses, over 5,000 seeded random mutations", () => {
    const rand = seededRandom(0x9e3779b9);
    const values = [
      undefined,
      null,
      "",
      "x",
      "a".repeat(64),
      0,
      -1,
      1,
      1.5,
      2 ** 60,
      Number.NaN,
      true,
      {},
      [],
      "2026-01-01T00:00:07.000Z",
    ];
    const paths = [
      ["v"],
      ["tenant"],
      ["seq"],
      ["ts"],
      ["type"],
      ["actor"],
      ["actor", "identity"],
      ["actor", "token_id"],
      ["actor", "agent"],
      ["actor", "agent", "name"],
      ["actor", "agent", "model"],
      ["actor", "extra"],
      ["target"],
      ["target", "kind"],
      ["target", "id"],
      ["target", "version"],
      ["target", "extra"],
      ["outcome"],
      ["request_id"],
      ["details"],
      ["prev_hash"],
      ["extra"],
    ];
    let handAccepted = 0;
    for (let i = 0; i < 5000; i++) {
      const e = clone();
      for (let k = 0; k <= rand(2); k++) {
        const path = paths[rand(paths.length)]!;
        let o: Entry = e;
        for (const step of path.slice(0, -1)) {
          if (typeof o[step] !== "object" || o[step] === null) o[step] = {};
          o = o[step] as Entry;
        }
        const last = path.at(-1)!;
        if (rand(5) === 0) delete o[last];
        else o[last] = structuredClone(values[rand(values.length)]);
      }
      const { hand, schema } = agree(e);
      if (hand) handAccepted++;
      expect(hand && !schema).toBe(false);
    }
    // The comparison is only meaningful if some mutated entries were accepted by both.
    expect(handAccepted).toBeGreaterThan(50);
  });

  it("builds the same entry, bytes and hash through the hand check as before, and refuses a bad one", () => {
    const { v: _v, seq: _s, prev_hash: _p, ...base } = clone();
    const good = nextEntrySync({ seq: 6, hash: "a".repeat(64) }, base as unknown as AuditFields, sha256Sync);
    expect(good.entry).toEqual(VALID);
    expect(good.hash).toBe(sha256HexSync(entryHashInput(2, new TextEncoder().encode(good.text))));
    expect(() =>
      nextEntrySync({ seq: 6, hash: "a".repeat(64) }, { ...(base as unknown as AuditFields), type: "Bad" }, sha256Sync),
    ).toThrow(/invalid audit entry/);
  });
});
