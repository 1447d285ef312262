import { expect, it } from "vitest";
import { genesisHash, hashEntry, nextEntry } from "../../../worker/core/audit/codec";
import { auditEntrySchema } from "../../../worker/core/audit/entry";
import { api, expectStatus } from "../helpers";
import { auditRows, smallChain } from "./helpers";

it("every stored entry's seq, prev_hash and hash agree with worker/core/audit/codec's async hashEntry and nextEntry", async () => {
  const { tenantId, adminToken, user } = await smallChain(2);
  // Varied entries: unicode and escapes in strings, agents, numbers, denials, an auth failure.
  await expectStatus(
    await api(adminToken, "POST", "/v1/credentials", {
      name: "unicode-cred",
      value: "v",
      description: 'naïve "quoted" \\ tab\t line\n 😀 \u2028',
      tags: ["t.1", "k=v"],
      default_ttl: 90,
      max_ttl: "2h",
    }),
    201,
  );
  await expectStatus(
    await api(user, "POST", "/v1/leases", {
      credential: "unicode-cred",
      ttl: 61,
      purpose: "Grüße 🚀",
      agent: {
        name: "claude-code",
        model: "opus-4",
        session: "s-1",
        tool: "bash",
        host: "höst",
        client: "mcp",
        client_version: "1.0.0",
      },
    }),
    201,
  );
  await expectStatus(await api(user, "POST", "/v1/leases", { credential: "unicode-cred", ttl: "3h" }), 400);
  await expectStatus(await api(user, "POST", "/v1/credentials", { name: "nope", value: "v" }), 403);
  await expectStatus(await api(`${user.slice(0, -1)}${user.endsWith("0") ? "1" : "0"}`, "GET", "/v1/whoami"), 401);
  await expectStatus(
    await api(adminToken, "PATCH", "/v1/credentials/unicode-cred", { description: "ß", max_ttl: 7200 }),
    200,
  );

  const rows = await auditRows(tenantId);
  expect(rows.length).toBeGreaterThanOrEqual(11);
  expect(new Set(rows.map((r) => r.type)).size).toBeGreaterThanOrEqual(7);
  let prev: { seq: number; hash: string } | null = null;
  for (const [i, row] of rows.entries()) {
    const entry = auditEntrySchema.parse(JSON.parse(row.entry));
    expect(entry.seq).toBe(i + 1);
    expect(row.seq).toBe(i + 1);
    expect(entry.prev_hash).toBe(prev ? prev.hash : await genesisHash(tenantId));
    expect(await hashEntry(entry), `seq ${row.seq}`).toBe(row.hash);
    // Rebuilt from its fields by the async builder, the entry has the same bytes' hash.
    const { v: _v, seq: _s, prev_hash: _p, ...fields } = entry;
    expect((await nextEntry(prev, fields)).hash).toBe(row.hash);
    prev = { seq: row.seq, hash: row.hash };
  }
});
