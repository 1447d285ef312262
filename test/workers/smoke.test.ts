import { env, SELF } from "cloudflare:test";
import { expect, it } from "vitest";

it("health answers and the KMS emulator is bound", async () => {
  const res = await SELF.fetch("https://vault.test/v1/health");
  expect(res.status).toBe(200);
  const kms = await env.KMS_EMULATOR.fetch("http://kms/");
  expect(kms.status).toBe(501);
});
