import { randomUUID } from "node:crypto";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VaultClient } from "../../../sdk/index";
import { descendants } from "../support/processes";
import { ROOT, startLocalVault, type LocalVault } from "../support/vault";
import { asProcessEnv, buildCli, collect, mcpServerEnv, type CliFixture } from "../cli/helpers";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { encodedForms } from "../../../cli/run/redactor";

/**
 * `ghostvault mcp` over stdio, driven by the official MCP SDK client against a real local Vault:
 * every tool is called, and no tool result may carry a leased value unless reveal is enabled.
 */

const CHILD = path.join(ROOT, "test", "node", "cli", "fixtures", "child.mjs");
const INSPECTOR = path.join(ROOT, "node_modules", "@modelcontextprotocol", "inspector-cli", "build");
const TOOLS = [
  "describe_credential",
  "http_request_with_credential",
  "lease_credential",
  "list_credentials",
  "list_leases",
  "revoke_lease",
  "run_with_credentials",
  "whoami",
];

let vault: LocalVault;
let admin: VaultClient;
let cli: CliFixture;
const clients: Client[] = [];

beforeAll(async () => {
  [vault, cli] = await Promise.all([startLocalVault(), buildCli()]);
  admin = new VaultClient({ url: vault.url, token: vault.adminToken });
});
afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
  await vault?.stop();
  await cli?.cleanup();
});

/** The server's environment (helpers.ts mcpServerEnv) for this file's vault. */
function serverEnv(token: string): Promise<Record<string, string>> {
  return mcpServerEnv(cli, vault.url, token);
}

async function connectWith(
  flags: string[],
  token = vault.adminToken,
): Promise<{ client: Client; transport: StdioClientTransport }> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [cli.bin, "mcp", ...flags],
    env: await serverEnv(token),
    cwd: ROOT,
    stderr: "pipe",
  });
  const client = new Client({ name: "vitest-client", version: "9.9.9" });
  await client.connect(transport, { timeout: 20_000 });
  clients.push(client);
  return { client, transport };
}

async function connect(flags: string[], token = vault.adminToken): Promise<Client> {
  return (await connectWith(flags, token)).client;
}

async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args }, undefined, { timeout: 30_000 })) as CallToolResult;
}

/** Calls a tool and checks that its whole result (content, errors, metadata) holds none of `values`. */
async function blindCall(
  client: Client,
  values: readonly string[],
  name: string,
  args: Record<string, unknown> = {},
): Promise<CallToolResult> {
  const result = await call(client, name, args);
  const text = JSON.stringify(result);
  for (const v of values) expect(text, `${name} leaked a value`).not.toContain(v);
  return result;
}

function json<T = Record<string, unknown>>(result: CallToolResult): T {
  const first = result.content[0];
  if (first?.type !== "text") throw new Error("expected a text result");
  return JSON.parse(first.text) as T;
}

async function credential(agentVisible: boolean): Promise<{ name: string; value: string }> {
  const name = `mcp/${randomUUID().slice(0, 8)}`;
  const value = `sk-${randomUUID()}`;
  await admin.credentials.create({ name, value, default_ttl: "5m", max_ttl: "1h" });
  await admin.acl.set(name, { rules: [], agent_visible: agentVisible });
  return { name, value };
}

describe("ghostvault mcp (value-blind)", () => {
  it("lists the eight tools, leading with the proxy; run_with_credentials says it is disabled unless programs are allowed", async () => {
    const client = await connect([]);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(TOOLS);
    const lease = tools.find((t) => t.name === "lease_credential")!;
    expect(lease.description).toMatch(/Prefer http_request_with_credential/);
    expect(tools.find((t) => t.name === "run_with_credentials")!.description).toMatch(/^DISABLED/);
    const allowing = await connect(["--allow-run", process.execPath]);
    const described = (await allowing.listTools()).tools.find((t) => t.name === "run_with_credentials")!.description;
    expect(described).toContain(`Allowed programs on this server: ${process.execPath}.`);
  });

  it("calls every tool against the vault; run_with_credentials masks values and leases carry the client's attribution", async () => {
    const client = await connect(["--allow-run", process.execPath]);
    const a = await credential(true);
    const b = await credential(false);
    const values = [a.value, b.value];
    const who = await blindCall(client, values, "whoami");
    expect(json(who)).toMatchObject({ identity: "user:admin@test", role: "admin" });
    const list = await blindCall(client, values, "list_credentials", { prefix: "mcp/" });
    expect(json<{ items: { name: string }[] }>(list).items.map((c) => c.name)).toEqual(
      expect.arrayContaining([a.name, b.name]),
    );
    const described = await blindCall(client, values, "describe_credential", { name: a.name });
    expect(json(described)).toMatchObject({
      name: a.name,
      versions: [{ version: 1 }],
      policy: { agent_visible: true },
    });

    const run = await blindCall(client, values, "run_with_credentials", {
      command: [process.execPath, CHILD, "print", "3"],
      env: { GV_A: a.name, GV_B: b.name },
      ttl: "1m",
      purpose: "mcp test",
    });
    const ran = json<{ exit_code: number; stdout: string; stderr: string; leases: string[] }>(run);
    expect(ran).toMatchObject({ exit_code: 3, stdout: "whole:*****\nsplit:*****:end\n", stderr: "err:*****:end\n" });
    expect(ran.leases).toHaveLength(2);
    const leased = await admin.leases.get(ran.leases[0]!);
    expect(leased.state).toBe("revoked");
    expect(leased.agent).toMatchObject({
      name: "ghostvault-mcp",
      client: "vitest-client",
      client_version: "9.9.9",
      tool: "run_with_credentials",
    });
    expect(leased.agent!.session).toMatch(/^[0-9a-f-]{36}$/);

    const flood = json<{ stdout: string; truncated: { stdout_bytes: number } }>(
      await blindCall(client, values, "run_with_credentials", {
        command: [process.execPath, CHILD, "flood", "100000"],
        env: { GV_A: a.name },
      }),
    );
    expect(flood.stdout.startsWith("*****\nxxx")).toBe(true);
    expect(flood.stdout.length).toBe(32 * 1024);
    expect(flood.truncated.stdout_bytes).toBeGreaterThan(60_000);

    const leaseResult = await blindCall(client, values, "lease_credential", { name: a.name, ttl: "2m" });
    const held = json<{
      lease: { id: string; agent: Record<string, string> };
      revealed: boolean;
      value_withheld: string;
    }>(leaseResult);
    expect(held).toMatchObject({ revealed: false, value_withheld: expect.stringContaining("--allow-reveal") });
    expect(held.lease.agent).toMatchObject({
      name: "ghostvault-mcp",
      client: "vitest-client",
      client_version: "9.9.9",
      session: leased.agent!.session,
      tool: "lease_credential",
    });
    const leases = await blindCall(client, values, "list_leases", { state: "active", credential: a.name });
    expect(json<{ items: { id: string }[] }>(leases).items.map((l) => l.id)).toEqual([held.lease.id]);
    const revoked = await blindCall(client, values, "revoke_lease", { lease_id: held.lease.id });
    expect(json(revoked)).toMatchObject({ id: held.lease.id, state: "revoked" });
    const again = await blindCall(client, values, "revoke_lease", { lease_id: held.lease.id });
    expect(again.isError).toBe(true);
    expect((again.content[0] as { text: string }).text).toMatch(/^error: .+ \(conflict, request \S+\)$/);
  });

  it("reveals a value only with --allow-reveal AND an agent_visible policy readable by the server's token", async () => {
    const visible = await credential(true);
    const hidden = await credential(false);
    const revealing = await connect(["--allow-reveal"]);
    const blind = await connect([]);
    // Both conditions: the value comes back.
    const shown = json<{ value?: string; revealed: boolean }>(
      await call(revealing, "lease_credential", { name: visible.name }),
    );
    expect(shown).toMatchObject({ revealed: true, value: visible.value });
    // Flag without policy, policy without flag: no value.
    const noPolicy = await blindCall(revealing, [hidden.value], "lease_credential", { name: hidden.name });
    const noFlag = await blindCall(blind, [visible.value], "lease_credential", { name: visible.name });
    expect(json(noPolicy)).toMatchObject({ revealed: false, value_withheld: expect.stringContaining("agent_visible") });
    expect(json(noFlag)).toMatchObject({ revealed: false, value_withheld: expect.stringContaining("--allow-reveal") });
    // A user token cannot read the policy (manager role), so even flag + policy does not reveal.
    const user = await admin.tokens.create({ name: "mcp-user", role: "user", identity: "agent:mcp-user" });
    const userServer = await connect(["--allow-reveal"], user.token);
    const unreadable = await blindCall(userServer, [visible.value], "lease_credential", { name: visible.name });
    expect(json(unreadable)).toMatchObject({
      revealed: false,
      value_withheld: expect.stringContaining("could not be read"),
    });
    // The two connections are two sessions.
    const sessions = new Set(
      (await admin.leases.list({ credential: visible.name })).items.map((l) => l.agent?.session),
    );
    expect(sessions.size).toBe(3);
  });

  it("answers @modelcontextprotocol/inspector-cli in --cli mode (tools/list and a live tools/call)", async () => {
    const env = await serverEnv(vault.adminToken);
    // inspector-cli 1.0.3 reads its own package.json as "../package.json" checked against the
    // working directory: run it from its build/ directory so that path exists.
    const inspect = async (...method: string[]) => {
      const child = spawn(
        process.execPath,
        [path.join(INSPECTOR, "cli.js"), "--cli", process.execPath, cli.bin, "mcp", ...method],
        { cwd: INSPECTOR, env: asProcessEnv(env), stdio: ["ignore", "pipe", "pipe"] },
      );
      const result = await collect(child, 30_000);
      expect(result.code, result.stderr).toBe(0);
      return JSON.parse(result.stdout) as Record<string, unknown>;
    };
    const listed = (await inspect("--method", "tools/list")) as { tools: { name: string }[] };
    expect(listed.tools.map((t) => t.name).sort()).toEqual(TOOLS);
    const who = (await inspect("--method", "tools/call", "--tool-name", "whoami")) as CallToolResult;
    expect(JSON.parse((who.content[0] as { text: string }).text)).toMatchObject({ identity: "user:admin@test" });
  });

  it("refuses run_with_credentials with default flags, and any program not allowed, before leasing anything", async () => {
    const a = await credential(false);
    const blind = await connect([]);
    const refused = await blindCall(blind, [a.value], "run_with_credentials", {
      command: [process.execPath, CHILD, "print", "0"],
      env: { GV_A: a.name },
    });
    expect(refused.isError).toBe(true);
    expect((refused.content[0] as { text: string }).text).toMatch(
      /^error: run_with_credentials is disabled on this server: .*--allow-run PROGRAM/,
    );
    const envOnly = await connect(["--allow-run", "/usr/bin/env"]);
    for (const command of [
      [process.execPath, CHILD, "print", "0"],
      ["sh", "-c", "echo $GV_A"],
      ["/usr/bin/../bin/sh"],
      ["./env"],
      ["envx"],
    ]) {
      const other = await blindCall(envOnly, [a.value], "run_with_credentials", { command, env: { GV_A: a.name } });
      expect(other.isError, command.join(" ")).toBe(true);
      expect((other.content[0] as { text: string }).text).toContain(
        "is not an allowed program on this server; allowed: /usr/bin/env",
      );
    }
    expect((await admin.leases.list({ credential: a.name })).items).toEqual([]);
    // Positive control: the allowed program, by name on PATH and by path, runs and leases.
    for (const command of [["env"], ["/usr/bin/env"], ["/usr/bin/../bin/env"]]) {
      const ran = json<{ exit_code: number; stdout: string }>(
        await blindCall(envOnly, [a.value], "run_with_credentials", { command, env: { GV_A: a.name } }),
      );
      expect(ran).toMatchObject({ exit_code: 0, stdout: expect.stringContaining("GV_A=*****") });
    }
    expect((await admin.leases.list({ credential: a.name })).items).toHaveLength(3);
  });

  it("refuses to start with GHOSTVAULT_TOKEN in its environment, naming the login file instead", async () => {
    const env = {
      ...(await serverEnv(vault.adminToken)),
      GHOSTVAULT_URL: vault.url,
      GHOSTVAULT_TOKEN: vault.adminToken,
    };
    const child = spawn(process.execPath, [cli.bin, "mcp"], {
      env: asProcessEnv(env),
      stdio: ["pipe", "pipe", "pipe"],
    });
    const result = await collect(child, 30_000);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(
      /does not take GHOSTVAULT_TOKEN from its environment.*ghostvault --profile mcp login/,
    );
    expect(result.stderr).not.toContain(vault.adminToken);
  });

  it("keeps no token in its own /proc/PID/environ, and its children see only the mapped values and PATH/HOME/LANG", async () => {
    const { client, transport } = await connectWith([]);
    const environ = readFileSync(`/proc/${transport.pid}/environ`, "latin1");
    expect(environ).toContain("GHOSTVAULT_PROFILE=");
    expect(environ).not.toContain(vault.adminToken);
    expect(environ).not.toContain("GHOSTVAULT_TOKEN");
    expect(json(await call(client, "whoami"))).toMatchObject({ identity: "user:admin@test" });
  });

  it("with /usr/bin/env allowed, a hostile sequence never yields the token or the value, raw or encoded", async () => {
    const a = await credential(false);
    const client = await connect(["--allow-run", "/usr/bin/env"]);
    const secrets = [vault.adminToken, a.value, ...encodedForms(a.value)];
    const sh = (script: string) => ["/usr/bin/env", "sh", "-c", script];
    const node = (code: string) => ["/usr/bin/env", process.execPath, "-e", code];
    const hostile: Record<string, string[]> = {
      "the server's environment": sh("tr '\\0' '\\n' </proc/$PPID/environ"),
      env: ["env"],
      "the login file": sh('cat "$HOME"/.config/ghostvault/profiles/*.json'),
      base64: sh('printf %s "$K" | base64 -w0'),
      "base64, 1 byte in": sh('printf "x%s" "$K" | base64 -w0'),
      "base64, 2 bytes in": sh('printf "xy%s" "$K" | base64 -w0'),
      base64url: node("process.stdout.write(Buffer.from(process.env.K).toString('base64url'))"),
      hex: sh('printf %s "$K" | od -An -tx1 | tr -d " \\n"'),
      HEX: node("process.stdout.write(Buffer.from(process.env.K).toString('hex').toUpperCase())"),
      "URL-encoded": node("process.stdout.write(encodeURIComponent(process.env.K))"),
    };
    const outputs: Record<string, string> = {};
    for (const [name, command] of Object.entries(hostile)) {
      const result = await call(client, "run_with_credentials", { command, env: { K: a.name } });
      const text = JSON.stringify(result);
      for (const secret of secrets) expect(text, `${name} leaked`).not.toContain(secret);
      const ran = json<{ exit_code: number; stdout: string }>(result);
      expect(ran.exit_code, name).toBe(0);
      outputs[name] = ran.stdout;
    }
    // Positive controls: the commands did run and print what was asked, masked.
    expect(outputs["the server's environment"]).toContain("GHOSTVAULT_PROFILE=");
    expect(outputs["the login file"]).toMatch(/"token": "\*\*\*\*\*"/);
    for (const name of Object.keys(hostile).slice(3)) expect(outputs[name], name).toMatch(/\*\*\*\*\*/);
    const names = outputs["env"]!.trim()
      .split("\n")
      .map((line) => line.slice(0, line.indexOf("=")));
    expect(names).toContain("K");
    expect(names.filter((n) => !["PATH", "HOME", "LANG", "LC_ALL", "TZ", "K"].includes(n))).toEqual([]);
  });

  it("leaves no server process behind once the clients close", async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    expect(descendants().filter((p) => p.args.includes(cli.bin))).toEqual([]);
  });
});
