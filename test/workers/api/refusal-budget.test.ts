import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { vaultStub } from "../../../worker/routes/define";
import { bootstrap, tokenWithRole } from "../helpers";

/**
 * Issue 9 §2: callers who proved nothing cannot grow a tenant's audit chain or storage at will.
 * The refusals are driven through the Durable Object's RPC methods directly (what the Worker
 * calls), so 10,000 of them take seconds, not minutes.
 */

const MINUTE = 60_000;
// A fixed clock a day ahead: the summary alarms it arms never fire on their own during the test.
const T0 = Math.ceil((Date.now() + 86_400_000) / MINUTE) * MINUTE;
const BUDGET = 60; // AUDIT_ANON_REFUSALS_PER_MINUTE's default
const hex = (n: number) =>
  Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => b.toString(16).padStart(2, "0")).join("");
const b64url = (s: string) => btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");

type Stub = ReturnType<typeof vaultStub>;
type Entry = {
  seq: number;
  type: string;
  actor: { identity: string };
  outcome: string;
  details: Record<string, unknown>;
};

async function auditRows(vault: Stub): Promise<Entry[]> {
  return runInDurableObject(vault, (_o, state) =>
    state.storage.sql
      .exec<{ entry: string }>("SELECT entry FROM audit ORDER BY seq")
      .toArray()
      .map((r) => JSON.parse(r.entry) as Entry),
  );
}

const databaseSize = (vault: Stub) => runInDurableObject(vault, (_o, state) => state.storage.sql.databaseSize);

/** Runs `count` calls of `one`, `width` at a time. */
async function flood(count: number, width: number, one: (i: number) => Promise<unknown>): Promise<void> {
  for (let start = 0; start < count; start += width) {
    await Promise.all(Array.from({ length: Math.min(width, count - start) }, (_, k) => one(start + k)));
  }
}

describe("anonymous refusals within a per-minute audit budget", { timeout: 240_000 }, () => {
  let tenantId: string;
  let adminToken: string;
  let viewer: string;
  let vault: Stub;
  beforeAll(async () => {
    ({ tenantId, adminToken } = await bootstrap("flooded"));
    viewer = await tokenWithRole(adminToken, "viewer");
    vault = vaultStub(env, tenantId);
    await vault.setClockForTest(T0);
  });

  it("10,000 anonymous refusals grow storage by ≤ 1 MB and the chain by ≤ budget + summaries; a 10 KB issuer is bounded; authenticated denials are still recorded one by one", async () => {
    const sizeBefore = await databaseSize(vault);
    const before = (await auditRows(vault)).length;

    // One oidc.denied with a 10 KB issuer: recorded (within budget) but bounded.
    const hugeIss = `https://${"i".repeat(10 * 1024)}.example`;
    const jwt = `${b64url(JSON.stringify({ alg: "RS256" }))}.${b64url(JSON.stringify({ iss: hugeIss }))}.sig`;
    expect(
      await vault.oidcLeases("req-huge", { tenant_id: tenantId, token: jwt, credentials: ["a"] }, "203.0.113.1"),
    ).toMatchObject({ ok: false, error: { code: "unauthorized" } });

    // 10,000 refusals of three kinds from 200 addresses: random well-formed tokens, unparseable
    // OIDC tokens, webhook requests for made-up names with made-up signatures.
    await flood(10_000, 200, (i) => {
      const ip = `198.51.100.${i % 200}`;
      if (i % 4 === 1)
        return vault.oidcLeases(`r${i}`, { tenant_id: tenantId, token: `x.${hex(8)}.y`, credentials: ["a"] }, ip);
      if (i % 4 === 2)
        return vault.webhookLeases(
          `r${i}`,
          {
            name: `hook-${hex(20)}`,
            contentType: "application/json",
            timestamp: "1",
            signature: `sha256=${hex(32)}`,
            body: "{}",
          },
          ip,
        );
      return vault.op("whoami", { token: `gv_api_${tenantId}_${hex(32)}`, requestId: `r${i}`, input: null, ip });
    });

    // Positive control: a caller who authenticated and lacks the role is recorded every time.
    for (let i = 0; i < 100; i++) {
      expect(
        await vault.op("credentials.create", {
          token: viewer,
          requestId: `v${i}`,
          input: { body: { name: `x/${i}`, value: "v" } },
        }),
      ).toMatchObject({ ok: false, error: { code: "forbidden" } });
    }

    // The minute closes: the next refusal (a minute later) writes its summary first.
    await vault.setClockForTest(T0 + MINUTE);
    await vault.op("whoami", {
      token: `gv_api_${tenantId}_${hex(32)}`,
      requestId: "late",
      input: null,
      ip: "198.51.100.7",
    });

    const rows = (await auditRows(vault)).slice(before);
    const anonymous = rows.filter((e) => e.actor.identity === "anonymous" && e.type !== "auth.denied_summary");
    const summaries = rows.filter((e) => e.type === "auth.denied_summary");
    expect(anonymous.length).toBe(BUDGET + 1); // the first minute's budget, and the late one
    expect(summaries).toHaveLength(1);
    expect(rows.filter((e) => e.type === "access.denied")).toHaveLength(100);
    expect(rows.length).toBeLessThanOrEqual(2 * BUDGET + 2 + 100 + 4); // + checkpoints' own entries, if any

    const summary = summaries[0]!.details as {
      recorded: number;
      folded: number;
      counts: { reason: string; ip: string; route: string; count: number }[];
    };
    expect(summary.recorded + summary.folded).toBe(10_001);
    expect(summary.recorded).toBe(BUDGET);
    expect(summary.counts.length).toBeLessThanOrEqual(65);
    expect(summary.counts.reduce((n, c) => n + c.count, 0)).toBe(summary.folded);
    expect(new Set(summary.counts.map((c) => c.route))).toEqual(new Set(["whoami", "ci.oidc", "ci.webhook", "other"]));
    expect(summary.counts.some((c) => c.reason === "auth.denied/unknown_token" && c.ip.startsWith("198.51.100."))).toBe(
      true,
    );

    const bounded = rows.find((e) => e.type === "oidc.denied")!;
    const issuer = bounded.details.issuer as string;
    expect(issuer.length).toBeLessThanOrEqual(256);
    expect(issuer).toMatch(new RegExp(`^https://i{120}…\\[truncated ${hugeIss.length} chars; sha256:[0-9a-f]{64}\\]$`));
    for (const e of rows) expect(JSON.stringify(e).length, e.type).toBeLessThan(8 * 1024);

    expect((await databaseSize(vault)) - sizeBefore).toBeLessThanOrEqual(1024 * 1024);
    // The newest entries may not be under a checkpoint yet; strict verify would (rightly) refuse them.
    const verified = await vault.op("audit.verify", {
      token: adminToken,
      requestId: "verify",
      input: { query: { allow_unsigned_tail: "true" } },
    });
    expect(verified).toMatchObject({ ok: true, value: { ok: true } });
  });

  it("a quiet minute's summary is written by the alarm; an alarm inside the minute writes none and re-arms", async () => {
    const start = T0 + 10 * MINUTE;
    await vault.setClockForTest(start);
    await flood(BUDGET + 5, 20, (i) =>
      vault.op("whoami", { token: `gv_api_${tenantId}_${hex(32)}`, requestId: `q${i}`, input: null, ip: "192.0.2.9" }),
    );
    const count = async () => (await auditRows(vault)).filter((e) => e.type === "auth.denied_summary").length;
    const summariesBefore = await count();
    await vault.setClockForTest(start + 30_000);
    await runDurableObjectAlarm(vault);
    expect(await count()).toBe(summariesBefore);
    const rearmed = await runInDurableObject(vault, (_o, state) => state.storage.getAlarm());
    expect(rearmed).not.toBeNull();
    expect(rearmed!).toBeLessThanOrEqual(start + MINUTE);
    await vault.setClockForTest(start + MINUTE);
    expect(await runDurableObjectAlarm(vault)).toBe(true);
    const after = await auditRows(vault);
    expect(await count()).toBe(summariesBefore + 1);
    expect(after.at(-1)).toMatchObject({
      type: "auth.denied_summary",
      details: {
        folded: 5,
        counts: [{ reason: "auth.denied/unknown_token", ip: "192.0.2.9", route: "whoami", count: 5 }],
      },
    });
  });

  it("refused tokens cannot buy a fresh allowance: past the per-IP limit an address gets 429, while a valid token from it and refusals from other addresses are unaffected", async () => {
    await vault.setClockForTest(T0 + 20 * MINUTE);
    const limit = 600; // ANON_REFUSALS_PER_IP_PER_MINUTE's default
    const forged = () => `gv_api_${tenantId}_${hex(32)}`;
    await flood(limit, 100, (i) =>
      vault.op("whoami", { token: forged(), requestId: `ip${i}`, input: null, ip: "192.0.2.66" }),
    );
    expect(
      await vault.op("whoami", { token: forged(), requestId: "over", input: null, ip: "192.0.2.66" }),
    ).toMatchObject({ ok: false, error: { code: "rate_limited" } });
    // Positive controls: another address is still told 401, and a valid token works from the flooding one.
    expect(
      await vault.op("whoami", { token: forged(), requestId: "other", input: null, ip: "192.0.2.67" }),
    ).toMatchObject({ ok: false, error: { code: "unauthorized" } });
    expect(
      await vault.op("whoami", { token: adminToken, requestId: "valid", input: null, ip: "192.0.2.66" }),
    ).toMatchObject({ ok: true });
  });
});
