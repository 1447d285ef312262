import { expect, it } from "vitest";
import { api, bootstrap, createCredential, expectStatus, tokenWithRole } from "../helpers";

it("leases a value, lists, renews, revokes, and the audit chain verifies", async () => {
  const { adminToken } = await bootstrap();
  const user = await tokenWithRole(adminToken, "user", "agent:claude-code@laptop");
  await createCredential(adminToken, "openai", "sk-live-canary");
  const created = await expectStatus<{ lease: { id: string; identity: string; state: string }; value: string }>(
    await api(user, "POST", "/v1/leases", {
      credential: "openai",
      ttl: "10m",
      agent: { name: "claude-code", model: "opus" },
    }),
    201,
  );
  expect(created.value).toBe("sk-live-canary");
  expect(created.lease).toMatchObject({ identity: "agent:claude-code@laptop", state: "active" });
  const list = await expectStatus<{ items: unknown[] }>(await api(user, "GET", "/v1/leases"), 200);
  expect(list.items).toHaveLength(1);
  await expectStatus(await api(user, "POST", `/v1/leases/${created.lease.id}/renew`, { ttl: "5m" }), 200);
  const revoked = await expectStatus<{ state: string }>(
    await api(user, "DELETE", `/v1/leases/${created.lease.id}`),
    200,
  );
  expect(revoked.state).toBe("revoked");
  const verify = await expectStatus<{ ok: boolean }>(
    await api(adminToken, "GET", "/v1/audit/verify?allow_unsigned_tail=true"),
    200,
  );
  expect(verify).toMatchObject({ ok: true });
  const entries = await expectStatus<{ items: { entry: { type: string } }[] }>(
    await api(adminToken, "GET", "/v1/audit?limit=100"),
    200,
  );
  expect(entries.items.map((e) => e.entry.type)).toEqual([
    "tenant.bootstrapped",
    "token.created",
    "credential.created",
    "lease.created",
    "lease.renewed",
    "lease.revoked",
  ]);
  const exported = await api(adminToken, "GET", "/v1/audit/export");
  expect(exported.status).toBe(200);
  const lines = (await exported.text()).trim().split("\n");
  expect(lines.length).toBeGreaterThanOrEqual(8);
  expect(lines.join("\n")).not.toContain("sk-live-canary");
});
