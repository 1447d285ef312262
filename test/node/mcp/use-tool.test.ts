import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VaultClient } from "../../../sdk/node";
import { createVaultMcpServer } from "../../../mcp/server";
import { startLocalVault, type LocalVault } from "../support/vault";

/**
 * The MCP proxy tool `http_request_with_credential` against a real local vault and a loopback
 * upstream that echoes the key it receives, raw and base64 (the vault runs with
 * OUTBOUND_ALLOW_INSECURE=true, which production refuses). The server is connected in memory.
 */

let vault: LocalVault;
let upstream: Server;
let origin: string;
let client: Client;
const VALUE = `sk-${randomUUID()}`;

beforeAll(async () => {
  upstream = createServer((req, res) => {
    const key = (req.headers.authorization ?? "").replace(/^Bearer /, "");
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        path: req.url,
        key,
        key_b64: Buffer.from(key).toString("base64"),
        key_hex: Buffer.from(key).toString("hex"),
      }),
    );
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  vault = await startLocalVault({ vars: { OUTBOUND_ALLOW_INSECURE: "true" } });
  const admin = new VaultClient({ url: vault.url, token: vault.adminToken });
  await admin.credentials.create({ name: "openai", value: VALUE });
  await admin.usePolicies.setPolicy("openai", {
    origins: [origin],
    path_prefixes: ["/v1/"],
    inject: { type: "header", name: "Authorization", template: "Bearer {value}" },
  });
  // The recommended MCP token: an identity allowed to use the credential, not to lease it.
  await admin.acl.set("openai", { rules: [{ effect: "allow", identity: "agent:mcp", permissions: ["use"] }] });
  const token = (await admin.tokens.create({ name: "mcp", role: "user", identity: "agent:mcp" })).token;
  const server = createVaultMcpServer({ vault: new VaultClient({ url: vault.url, token }) });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  client = new Client({ name: "vitest-client", version: "9.9.9" });
  await client.connect(clientSide);
});
afterAll(async () => {
  await client?.close();
  await vault?.stop();
  await new Promise((resolve) => upstream?.close(resolve));
});

const call = async (args: Record<string, unknown>) =>
  (await client.callTool({ name: "http_request_with_credential", arguments: args })) as CallToolResult;

describe("MCP http_request_with_credential", () => {
  it("is listed, calls the upstream with the key and never shows the key in any encoding", async () => {
    const tools = (await client.listTools()).tools.map((t) => t.name);
    expect(tools).toContain("http_request_with_credential");
    const result = await call({ credential: "openai", method: "GET", url: `${origin}/v1/models` });
    expect(result.isError).toBeFalsy();
    const text = JSON.stringify(result);
    for (const form of [VALUE, Buffer.from(VALUE).toString("base64"), Buffer.from(VALUE).toString("hex")])
      expect(text).not.toContain(form);
    const answer = JSON.parse((result.content[0] as { text: string }).text) as {
      status: number;
      body: string;
      scrubbed: boolean;
    };
    expect(answer).toMatchObject({ status: 200, scrubbed: true });
    expect(JSON.parse(answer.body)).toMatchObject({
      path: "/v1/models",
      key: "[REDACTED:ghostvault]",
      key_b64: "[REDACTED:ghostvault]",
      key_hex: "[REDACTED:ghostvault]",
    });
  });

  it("is refused outside the policy, and the use-only token cannot lease the value (control: the call above succeeds)", async () => {
    const outside = await call({ credential: "openai", method: "GET", url: `${origin}/admin` });
    expect(outside.isError).toBe(true);
    expect(JSON.stringify(outside)).toContain("use_denied");
    const lease = (await client.callTool({
      name: "lease_credential",
      arguments: { name: "openai" },
    })) as CallToolResult;
    expect(lease.isError).toBe(true);
    expect(JSON.stringify(lease)).not.toContain(VALUE);
  });
});
