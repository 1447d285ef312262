import { describe, expect, it } from "vitest";
import { seededRandom } from "../support/seeded-random";
import type { z } from "zod";
import { HeadRowSchema, headRowOf } from "../../../durable-objects/storage/credential-heads";
import { TokenRowSchema, tokenRowOf } from "../../../durable-objects/storage/tokens";

// The token and credential-head rows read on every lease are checked by hand instead of by zod
// (issue 16). The hand check may only accept what the schema accepts, and must give the same
// value; whatever it does not accept goes to the schema, which throws. Compared here on valid rows,
// one mutation per column, and seeded random mutations.

type Row = Record<string, SqlStorageValue>;

const TOKEN: Row = {
  id: "tok_1",
  token_hash: "ab".repeat(32),
  kind: "api",
  name: "ci",
  role: "user",
  identity: "agent:ci@test",
  created_at: 1_700_000_000_000,
  created_by: "tok_0",
  expires_at: null,
  revoked_at: null,
  revoked_by: null,
  parent_id: null,
};
const HEAD: Row = {
  credential_id: "cred_1",
  current_version: 3,
  keep_versions: null,
  deleted_at: null,
  updated_at: 1_700_000_000_000,
};

const VALUES: SqlStorageValue[] = [
  null,
  "",
  "x",
  "api",
  "session",
  "admin",
  0,
  1,
  -1,
  1.5,
  2 ** 60,
  new ArrayBuffer(1),
];

function agrees<T>(hand: (r: Row) => T, schema: z.ZodType<T>, row: Row): { accepted: boolean; same: boolean } {
  const parsed = schema.safeParse(row);
  let value: T | undefined;
  try {
    value = hand(row);
  } catch {
    return { accepted: false, same: !parsed.success };
  }
  return { accepted: true, same: parsed.success && JSON.stringify(parsed.data) === JSON.stringify(value) };
}

describe.each([
  ["token rows", tokenRowOf, TokenRowSchema, TOKEN],
  ["credential head rows", headRowOf, HeadRowSchema, HEAD],
] as const)("%s: the hand check against the schema", (_name, hand, schema, valid) => {
  const check = (row: Row) => agrees(hand as (r: Row) => unknown, schema as z.ZodType<unknown>, row);

  it("gives the schema's value for valid rows (positive control)", () => {
    const variants: Row[] = [valid];
    if (valid === TOKEN) variants.push({ ...TOKEN, kind: "session", role: "admin", expires_at: 5, parent_id: "tok_0" });
    else variants.push({ ...HEAD, keep_versions: 4, deleted_at: 9 });
    for (const row of variants) expect(check(row)).toEqual({ accepted: true, same: true });
  });

  it("throws, as the schema does, for every column given a value of the wrong kind", () => {
    for (const column of Object.keys(valid)) {
      for (const bad of VALUES) {
        const row = { ...valid, [column]: bad };
        const result = check(row);
        expect({ column, bad, ...result }).toEqual({ column, bad, accepted: result.accepted, same: true });
      }
      const missing = { ...valid };
      delete missing[column];
      expect({ column, ...check(missing) }).toEqual({ column, accepted: false, same: true });
    }
  });

  it("agrees with the schema over 3,000 seeded random mutations", () => {
    const rand = seededRandom(0x2545f491);
    const columns = Object.keys(valid);
    let rejected = 0;
    for (let i = 0; i < 3000; i++) {
      const row = { ...valid };
      for (let k = 0; k <= rand(3); k++) row[columns[rand(columns.length)]!] = VALUES[rand(VALUES.length)]!;
      const result = check(row);
      if (!result.accepted) rejected++;
      expect(result.same).toBe(true);
    }
    expect(rejected).toBeGreaterThan(100);
  });
});
