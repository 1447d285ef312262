import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VaultClient, VaultError } from "../../../sdk/index";
import { buildCli, cliEnv, runCli, type CliFixture } from "../cli/helpers";
import { startLocalVault, type LocalVault } from "../support/vault";

/**
 * `vault.use(ref).fetch()` (SDK) and `ghostvault http` (CLI) against a real local Vault, calling a
 * loopback upstream: the vault runs with OUTBOUND_ALLOW_INSECURE=true, which production refuses.
 */

let vault: LocalVault;
let admin: VaultClient;
let user: VaultClient;
let userToken: string;
let cli: CliFixture;
let upstream: Server;
let origin: string;
/** What the upstream received, newest last. */
const received: { method: string; url: string; authorization: string | undefined; body: string }[] = [];
const VALUE = `sk-${randomUUID()}`;

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

beforeAll(async () => {
  upstream = createServer(async (req, res) => {
    const body = await readBody(req);
    received.push({ method: req.method!, url: req.url!, authorization: req.headers.authorization, body });
    // An OpenAI-shaped answer that carelessly echoes the key it was sent.
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ id: "chatcmpl-1", echoed_key: req.headers.authorization, model: "gpt-test" }));
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  [vault, cli] = await Promise.all([startLocalVault({ vars: { OUTBOUND_ALLOW_INSECURE: "true" } }), buildCli()]);
  admin = new VaultClient({ url: vault.url, token: vault.adminToken });
  await admin.credentials.create({ name: "openai", value: VALUE });
  await admin.usePolicies.setPolicy("openai", {
    origins: [origin],
    methods: ["GET", "POST"],
    path_prefixes: ["/v1/"],
    inject: { type: "header", name: "Authorization", template: "Bearer {value}" },
  });
  userToken = (await admin.tokens.create({ name: "agent", role: "user", identity: "agent:bot" })).token;
  user = new VaultClient({ url: vault.url, token: userToken });
});
afterAll(async () => {
  await vault?.stop();
  await cli?.cleanup();
  await new Promise((resolve) => upstream?.close(resolve));
});

describe("SDK vault.use(ref).fetch", () => {
  it("returns a standard Response from the upstream, the key injected there and scrubbed here", async () => {
    const res = await user.use("openai", { purpose: "sdk test" }).fetch(`${origin}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer caller-own" },
      body: JSON.stringify({ model: "gpt-test", messages: [] }),
    });
    expect(res).toBeInstanceOf(Response);
    expect(res.status).toBe(200);
    expect(res.headers.get("x-vault-scrubbed")).toBe("true");
    const json = (await res.json()) as { echoed_key: string };
    expect(json.echoed_key).toBe("Bearer [REDACTED:ghostvault]");
    // The upstream got the vault's key, not the caller's, and the body as sent.
    const last = received.at(-1)!;
    expect(last).toMatchObject({ method: "POST", url: "/v1/chat/completions", authorization: `Bearer ${VALUE}` });
    expect(JSON.parse(last.body)).toEqual({ model: "gpt-test", messages: [] });
  });

  it("throws use_denied for a path outside the policy (control: the policy's path works)", async () => {
    const denied = await user
      .use("openai")
      .fetch(`${origin}/admin`)
      .catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(VaultError);
    expect((denied as VaultError).code).toBe("use_denied");
    expect((await user.use("openai").fetch(`${origin}/v1/models`)).status).toBe(200);
  });
});

describe("CLI ghostvault http", () => {
  it("prints the upstream's body, scrubbed, and the status to stderr", async () => {
    const env = cliEnv(cli, { GHOSTVAULT_URL: vault.url, GHOSTVAULT_TOKEN: userToken });
    const r = await runCli(
      cli,
      [
        "http",
        "openai",
        "POST",
        `${origin}/v1/chat/completions`,
        "-H",
        "content-type: application/json",
        "-d",
        '{"model":"gpt-test"}',
      ],
      { env },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ id: "chatcmpl-1", echoed_key: "Bearer [REDACTED:ghostvault]" });
    expect(r.stderr).toContain("200");
    expect(r.stdout + r.stderr).not.toContain(VALUE);
    expect(received.at(-1)).toMatchObject({ authorization: `Bearer ${VALUE}`, body: '{"model":"gpt-test"}' });
  });

  it("exits non-zero naming use_denied for an origin outside the policy (control above)", async () => {
    const env = cliEnv(cli, { GHOSTVAULT_URL: vault.url, GHOSTVAULT_TOKEN: userToken });
    const r = await runCli(cli, ["http", "openai", "GET", "https://elsewhere.example.net/v1/x"], { env });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/use policy|use_denied/);
  });
});
