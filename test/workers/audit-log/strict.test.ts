import { describe, expect, it } from "vitest";
import { verifyAuditExport } from "../../../sdk/audit-verify";
import { api, expectStatus } from "../helpers";
import { scalar, smallChain, verify } from "./helpers";

/**
 * Issue 10 §1 on the server: verify is strict (every entry of the range covered by a verified
 * checkpoint, an unsigned tail refused unless asked for and always counted), a fresh checkpoint
 * can be asked for, and an export ends with a checkpoint signed at export time.
 */

const publicKey = async () =>
  expectStatus<{ verifier_key: string }>(await api(null, "GET", "/v1/audit/public-key"), 200);

describe("strict verify on the server", () => {
  it("refuses an unsigned tail and reports its size; allows it only when asked", async () => {
    const { adminToken, size } = await smallChain(); // 7 entries, no checkpoint yet
    expect(await verify(adminToken, "", { strict: true })).toMatchObject({
      ok: false,
      seq: 1,
      unsigned_tail: size,
      reason: expect.stringMatching(/not covered by a signed checkpoint/),
    });
    // Positive control: the same chain passes when the caller accepts the tail, which is still reported.
    expect(await verify(adminToken, "?allow_unsigned_tail=true", { strict: true })).toMatchObject({
      ok: true,
      checked: size,
      signed_through: 0,
      unsigned_tail: size,
    });
  });

  it("a fresh checkpoint covers the head, after which strict verify passes, also for a range ending before it", async () => {
    const { tenantId, adminToken, size } = await smallChain();
    const { items } = await expectStatus<{ items: { size: number }[] }>(
      await api(adminToken, "GET", "/v1/audit/checkpoints?fresh=true"),
      200,
    );
    expect(items.map((c) => c.size)).toEqual([size]);
    expect(await verify(adminToken, "", { strict: true })).toMatchObject({
      ok: true,
      checked: size,
      signed_through: size,
      unsigned_tail: 0,
    });
    // A range inside the log is recomputed up to the checkpoint past its end, so it is covered too.
    expect(await verify(adminToken, "?from_seq=2&to_seq=4", { strict: true })).toMatchObject({
      ok: true,
      to_seq: 4,
      checked: 3,
      signed_through: size,
      unsigned_tail: 0,
    });
    // Asking again signs nothing new: one note per size bounds how often the key signs.
    await expectStatus(await api(adminToken, "GET", "/v1/audit/checkpoints?fresh=true"), 200);
    expect(await scalar(tenantId, "SELECT count(*) AS n FROM checkpoints")).toBe(1);
  });

  it("bad flags are a 400 naming the field, not a silent false", async () => {
    const { adminToken } = await smallChain(1);
    const bad = await api(adminToken, "GET", "/v1/audit/verify?allow_unsigned_tail=yes");
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/allow_unsigned_tail/);
    const badFresh = await api(adminToken, "GET", "/v1/audit/checkpoints?fresh=1");
    expect(badFresh.status).toBe(400);
    expect(await badFresh.text()).toMatch(/fresh/);
    // Positive control: the literal "false" is accepted.
    expect((await api(adminToken, "GET", "/v1/audit/checkpoints?fresh=false")).status).toBe(200);
  });
});

describe("an export ends with a checkpoint signed at export time", () => {
  it("a fresh export verifies strictly offline; its bounded range is covered too", async () => {
    const { tenantId, adminToken } = await smallChain();
    const { verifier_key } = await publicKey();
    const lines = (await (await api(adminToken, "GET", "/v1/audit/export")).text()).trim().split("\n");
    const last = JSON.parse(lines.at(-1)!) as { kind: string; size: number };
    const entries = lines.filter((l) => l.includes('"kind":"entry"')).length;
    expect(last).toMatchObject({ kind: "checkpoint", size: entries });
    expect(await verifyAuditExport(lines, verifier_key, { tenant: tenantId })).toMatchObject({
      ok: true,
      entries,
      signedThrough: entries,
      unsignedTail: 0,
    });
    // Denial beside it: the same export without its final checkpoint has an unsigned tail.
    expect(await verifyAuditExport(lines.slice(0, -1), verifier_key, { tenant: tenantId })).toMatchObject({
      ok: false,
      unsignedTail: entries,
    });

    const ranged = (await (await api(adminToken, "GET", "/v1/audit/export?from_seq=2&to_seq=5")).text())
      .trim()
      .split("\n");
    expect(JSON.parse(ranged.at(-1)!)).toMatchObject({ kind: "checkpoint", size: 5 });
    expect(await verifyAuditExport(ranged, verifier_key, { tenant: tenantId })).toMatchObject({
      ok: true,
      fromSeq: 2,
      toSeq: 5,
      unsignedTail: 0,
    });
  });
});
