import { expect, it } from "vitest";
import { api, bootstrap, createCredential, expectStatus } from "./helpers";

it("bootstraps a tenant, answers whoami and stores a credential without returning its value", async () => {
  const { tenantId, adminToken } = await bootstrap();
  const me = await expectStatus(await api(adminToken, "GET", "/v1/whoami"), 200);
  expect(me).toMatchObject({ tenant_id: tenantId, role: "admin", identity: "user:admin@acme.test" });
  const cred = await createCredential(adminToken, "prod/openai", "sk-canary-123");
  expect(JSON.stringify(cred)).not.toContain("sk-canary-123");
  const got = await expectStatus(
    await api(adminToken, "GET", `/v1/credentials/${encodeURIComponent("prod/openai")}`),
    200,
  );
  expect(got.id).toBe(cred.id);
});
