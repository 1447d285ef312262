import { env } from "cloudflare:test";
import { VaultClient } from "@ghoststack/vault-sdk";
import { beforeAll, expect, it } from "vitest";
import worker, { type Env } from "../src/index";

interface TestEnv extends Env {
  VAULT_DB: D1Database;
  VAULT_BOOTSTRAP_SECRET: string;
  VAULT_MIGRATIONS: string;
}
const testEnv = env as unknown as TestEnv;
let appToken: string;

beforeAll(async () => {
  for (const sql of JSON.parse(testEnv.VAULT_MIGRATIONS) as string[]) await testEnv.VAULT_DB.prepare(sql).run();
  const res = await testEnv.VAULT.fetch("https://vault.internal/v1/bootstrap", {
    method: "POST",
    headers: { "content-type": "application/json", "x-bootstrap-secret": testEnv.VAULT_BOOTSTRAP_SECRET },
    body: JSON.stringify({ tenant_name: "example", admin_identity: "user:admin@example.test" }),
  });
  expect(res.status).toBe(201);
  const boot = (await res.json()) as { admin_token: { token: string } };
  const admin = new VaultClient({
    url: "https://vault.internal",
    token: boot.admin_token.token,
    fetch: (i, init) => testEnv.VAULT.fetch(i, init),
  });
  await admin.credentials.create({ name: "openai", value: "sk-example-0123456789" });
  appToken = (await admin.tokens.create({ name: "app", role: "user", identity: "service:example-app" })).token;
});

/** The app's handler, called directly with the test vault's binding and the given app token. */
function call(token: string): Promise<Response> {
  return worker.fetch(new Request("https://app.example/upstream"), { ...testEnv, VAULT_TOKEN: token });
}

it("the app leases its credential from the test vault through the service binding", async () => {
  const res = await call(appToken);
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ leased: true, length: "sk-example-0123456789".length });
});

it("a token the vault does not know gets no lease (the call above is the positive control)", async () => {
  await expect(call("not-a-vault-token")).rejects.toMatchObject({ status: 401 });
});
