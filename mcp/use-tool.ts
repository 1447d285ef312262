import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { base64ToBytes } from "../worker/core/crypto/encoding";
import type { VaultClient } from "../sdk/node";
import type { AgentFor } from "./server";
import { guarded, jsonResult } from "./tool-result";

/** Longest body text handed to the model; the rest is cut with a marker (a model reads tokens, not megabytes). */
export const MAX_TOOL_BODY_CHARS = 100_000;

/**
 * Registers `http_request_with_credential`: an HTTP call made by the vault with the credential
 * injected (POST /v1/credentials/{ref}/use). The model never sees the value: the vault injects it
 * where the credential's use policy says and scrubs it (and its common encodings) from the answer.
 * This is the safe way for a model to use a credential; it needs a use policy and the ACL's `use`.
 */
export function registerUseTool(server: McpServer, vault: VaultClient, agentFor: AgentFor): void {
  server.registerTool(
    "http_request_with_credential",
    {
      title: "HTTP request with a credential",
      description:
        "Makes an HTTP request through the vault with a credential injected (e.g. as Authorization: Bearer), without revealing it: the vault adds the value as the credential's use policy says and removes it from the response. Only the origins, methods and paths the policy allows are reachable. Do not put the credential in headers or body yourself.",
      inputSchema: {
        credential: z.string().min(1).max(128).describe("credential name or id"),
        method: z.enum(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]),
        url: z.string().min(1).max(4096).describe("full https URL of the upstream API"),
        headers: z
          .record(z.string(), z.string())
          .optional()
          .describe("request headers, e.g. content-type (Authorization is set by the vault)"),
        body: z.string().optional().describe("request body as text, e.g. JSON"),
        purpose: z.string().max(256).optional().describe("why, for the audit log"),
      },
      annotations: { openWorldHint: true },
    },
    ({ credential, method, url, headers, body, purpose }) =>
      guarded(async () => {
        const answer = await vault
          .use(credential, { purpose, agent: agentFor("http_request_with_credential") })
          .call(url, { method, headers, body });
        const text = new TextDecoder().decode(base64ToBytes(answer.body_base64));
        const cut = text.length > MAX_TOOL_BODY_CHARS;
        return jsonResult({
          status: answer.status,
          headers: answer.headers,
          body: cut
            ? `${text.slice(0, MAX_TOOL_BODY_CHARS)}…[truncated ${text.length - MAX_TOOL_BODY_CHARS} chars]`
            : text,
          scrubbed: answer.scrubbed,
          upstream_ms: answer.upstream_ms,
        });
      }),
  );
}
