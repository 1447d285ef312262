/**
 * `ghostvault mcp`: a stdio MCP server that gives a model names, metadata and results, not
 * values (DESIGN.md "Clients"). `run_with_credentials` injects values into a child process (only
 * a program listed with `--allow-run`, in a fresh environment without the server's token) and
 * masks them in what comes back; `lease_credential` returns a value only when the credential's
 * policy says `agent_visible: true` AND the server was started with `--allow-reveal`.
 *
 * Every lease carries `agent: { name: "ghostvault-mcp", session, client, client_version, tool }`,
 * with the client's name and version from its `initialize` request and one session id per
 * connection. Nothing is logged: stdout is the protocol, and no value goes to stderr either.
 */

import { randomUUID } from "node:crypto";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { z } from "zod";
import type { Agent, VaultClient } from "../sdk/node";
import { AllowedPrograms } from "./allowed-programs";
import { registerLeaseTools } from "./lease-tools";
import { registerRunTool, stopAllRuns } from "./run-tool";
import { registerUseTool } from "./use-tool";
import { guarded, jsonResult } from "./tool-result";

/** Settings of the MCP server. */
export interface VaultMcpOptions {
  vault: VaultClient;
  /** Let `lease_credential` return values of agent-visible credentials. Default false. */
  allowReveal?: boolean;
  /** The programs `run_with_credentials` may start (`--allow-run`); none by default, so it refuses every call. */
  allowRun?: AllowedPrograms;
  /** The server's own token: masked in command output like a leased value. */
  token?: string;
  /** The server version announced in `initialize`. */
  version?: string;
}

/** Builds the `agent` field of a lease made by `tool` for the connected client. */
export type AgentFor = (tool: string) => Agent;

/** A McpServer with the vault tools registered; connect it to a transport. */
export function createVaultMcpServer(options: VaultMcpOptions): McpServer {
  const server = new McpServer(
    { name: "ghostvault", version: options.version ?? "0.0.0" },
    {
      instructions:
        "Vault credentials for this project. You never need a secret's value. Use list_credentials to see names, then http_request_with_credential to call an API with a credential: the vault makes the request with the value injected and scrubs it from the answer, so you never hold it. run_with_credentials (only for programs the person who started this server allowed) runs a program with credentials as environment variables and masks them in its output.",
    },
  );
  const session = randomUUID();
  const agentFor: AgentFor = (tool) => {
    const client = server.server.getClientVersion();
    return {
      name: "ghostvault-mcp",
      session,
      tool,
      client: client?.name ? client.name.slice(0, 128) : undefined,
      client_version: client?.version ? client.version.slice(0, 64) : undefined,
    };
  };
  const { vault } = options;

  server.registerTool(
    "whoami",
    {
      title: "Who am I",
      description: "The vault tenant, identity and role this server acts as.",
      annotations: { readOnlyHint: true },
    },
    () => guarded(async () => jsonResult(await vault.whoami())),
  );

  server.registerTool(
    "list_credentials",
    {
      title: "List credentials",
      description:
        "Names and metadata of the credentials in the vault (never values). To use one, call http_request_with_credential (the vault calls the API for you).",
      inputSchema: {
        prefix: z.string().max(128).optional().describe("only names starting with this"),
        tag: z.string().max(64).optional().describe("only this tag"),
      },
      annotations: { readOnlyHint: true },
    },
    ({ prefix, tag }) =>
      guarded(async () => {
        const items = [];
        for await (const c of vault.credentials.listAll({ prefix, tag })) {
          items.push(c);
          if (items.length >= 500) break;
        }
        return jsonResult({ items });
      }),
  );

  server.registerTool(
    "describe_credential",
    {
      title: "Describe a credential",
      description:
        "A credential's metadata, versions and (when this server's token may read it) access policy. Never the value.",
      inputSchema: { name: z.string().min(1).max(128).describe("credential name or id") },
      annotations: { readOnlyHint: true },
    },
    ({ name }) =>
      guarded(async () => {
        const [credential, versions] = await Promise.all([
          vault.credentials.get(name),
          vault.credentials.versions(name),
        ]);
        // Reading a policy needs the manager role; a less privileged token still gets the metadata.
        const policy = await vault.acl.get(name).catch(() => null);
        return jsonResult({ ...credential, versions: versions.items, policy });
      }),
  );

  registerUseTool(server, vault, agentFor);
  registerRunTool(
    server,
    vault,
    agentFor,
    options.allowRun ?? AllowedPrograms.resolve([], undefined, "/"),
    options.token === undefined ? [] : [options.token],
  );
  registerLeaseTools(server, vault, agentFor, options.allowReveal === true);
  return server;
}

/**
 * Serves the vault tools over stdio until stdin closes or SIGINT/SIGTERM arrives; then stops
 * any command still running and waits for its leases to be revoked.
 */
export async function serveStdio(options: VaultMcpOptions): Promise<void> {
  const server = createVaultMcpServer(options);
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
    process.stdin.once("end", () => resolve());
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
  await server.connect(transport);
  await closed;
  await stopAllRuns();
  await server.close();
}
