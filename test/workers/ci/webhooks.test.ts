import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { signWebhook } from "../../../worker/core/federation/webhook-signature";
import { vaultStub } from "../../../worker/routes/define";
import { BASE, api, bootstrap, createCredential, expectStatus, workerFetch, type ErrorBody } from "../helpers";

async function world() {
  const { tenantId, adminToken } = await bootstrap();
  await createCredential(adminToken, "deploy/token", "wh-canary");
  await createCredential(adminToken, "prod/db", "db-canary");
  const created = await expectStatus<{ webhook: { identity: string }; secret: string }>(
    await api(adminToken, "POST", "/v1/webhooks", { name: "jenkins", credentials: ["deploy/*"], max_ttl: "10m" }),
    201,
  );
  const send = async (body: string, opts: { secret?: string; ts?: number; signature?: string; name?: string } = {}) => {
    const ts = opts.ts ?? Math.floor(Date.now() / 1000);
    const signature = opts.signature ?? (await signWebhook(opts.secret ?? created.secret, ts, body));
    return workerFetch(`${BASE}/v1/ci/webhooks/${tenantId}/${opts.name ?? "jenkins"}/leases`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-vault-timestamp": String(ts), "x-vault-signature": signature },
      body,
    });
  };
  return { tenantId, adminToken, created, send };
}

const body = (credentials = ["deploy/token"]) => JSON.stringify({ credentials, ttl: "5m" });

describe("signed webhook leases", () => {
  it("leases as ci:webhook:<name> with a valid signature; the secret is shown once", async () => {
    const w = await world();
    expect(w.created.webhook.identity).toBe("ci:webhook:jenkins");
    expect(w.created.secret).toMatch(/^[0-9a-f]{64}$/);
    const granted = await expectStatus<{ leases: { value: string; lease: { identity: string } }[] }>(
      await w.send(body()),
      201,
    );
    expect(granted.leases[0]).toMatchObject({ value: "wh-canary", lease: { identity: "ci:webhook:jenkins" } });
    const listed = await expectStatus<{ items: unknown[] }>(await api(w.adminToken, "GET", "/v1/webhooks"), 200);
    expect(JSON.stringify(listed)).not.toContain(w.created.secret);
  });

  it.each([
    // Well past the 300 s tolerance either way, so test latency cannot move a case across it.
    ["stale (> 5 min)", { ts: Math.floor(Date.now() / 1000) - 330 }],
    ["from the future", { ts: Math.floor(Date.now() / 1000) + 330 }],
    ["badly signed", { secret: "00".repeat(32) }],
    ["malformed", { signature: "sha256=xyz" }],
    ["for an unknown webhook", { name: "nobody" }],
  ])("refuses a request that is %s (401, audited), positive control beside it", async (_what, opts) => {
    const w = await world();
    await expectStatus(await w.send(body()), 201);
    const refused = await expectStatus<ErrorBody>(await w.send(body(), opts), 401);
    expect(refused.error.code).toBe("unauthorized");
    const audit = await expectStatus<{ items: unknown[] }>(
      await api(w.adminToken, "GET", "/v1/audit?type=webhook.denied"),
      200,
    );
    expect(audit.items).toHaveLength(1);
  });

  it("refuses a replayed request", async () => {
    const w = await world();
    const ts = Math.floor(Date.now() / 1000);
    const b = body();
    const signature = await signWebhook(w.created.secret, ts, b);
    await expectStatus(await w.send(b, { ts, signature }), 201);
    await expectStatus<ErrorBody>(await w.send(b, { ts, signature }), 401);
    // Every CI refusal answers alike (issue 9 §8); the tenant's log says it was a replay.
    const audit = await expectStatus<{ items: { entry: { details: { reason: string } } }[] }>(
      await api(w.adminToken, "GET", "/v1/audit?type=webhook.denied"),
      200,
    );
    expect(audit.items.map((i) => i.entry.details.reason)).toEqual(["webhook signature refused: replayed"]);
  });

  it("leases only the webhook's credentials", async () => {
    const w = await world();
    expect((await expectStatus<ErrorBody>(await w.send(body(["prod/db"])), 403)).error.code).toBe("acl_denied");
    await expectStatus(await w.send(body(["deploy/token"])), 201);
  });

  it("stops working when deleted", async () => {
    const w = await world();
    await expectStatus(await w.send(body()), 201);
    await expectStatus(await api(w.adminToken, "DELETE", "/v1/webhooks/jenkins"), 204);
    await expectStatus(await w.send(body()), 401);
    expect(
      await vaultStub(env, w.tenantId).op("whoami", { token: w.adminToken, requestId: "r", input: null }),
    ).toMatchObject({ ok: true });
  });
});
