import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import type { Duration, VaultClient } from "../sdk/node";
import type { AgentFor } from "./server";
import { guarded, jsonResult } from "./tool-result";

/**
 * Whether a value may be shown to the model: the server flag AND the credential's policy. A
 * policy this server's token cannot read (it needs the manager role) counts as not visible.
 */
async function mayReveal(
  vault: VaultClient,
  allowReveal: boolean,
  credential: string,
): Promise<{ reveal: boolean; reason: string }> {
  if (!allowReveal) return { reveal: false, reason: "this MCP server was not started with --allow-reveal" };
  try {
    const policy = await vault.acl.get(credential);
    if (policy.agent_visible) return { reveal: true, reason: "agent_visible policy and --allow-reveal" };
    return { reveal: false, reason: "the credential's policy does not set agent_visible" };
  } catch {
    return {
      reveal: false,
      reason: "the credential's policy could not be read (needs the manager role), so it counts as not agent-visible",
    };
  }
}

/** Registers `list_leases`, `revoke_lease` and `lease_credential`. */
export function registerLeaseTools(
  server: McpServer,
  vault: VaultClient,
  agentFor: AgentFor,
  allowReveal: boolean,
): void {
  server.registerTool(
    "list_leases",
    {
      title: "List leases",
      description: "Leases visible to this server's identity (metadata only), newest first.",
      inputSchema: {
        state: z.enum(["active", "expired", "revoked"]).optional(),
        credential: z.string().max(128).optional().describe("only leases of this credential"),
        limit: z.number().int().min(1).max(100).optional(),
      },
      annotations: { readOnlyHint: true },
    },
    ({ state, credential, limit }) =>
      guarded(async () => jsonResult(await vault.leases.list({ state, credential, limit }))),
  );

  server.registerTool(
    "revoke_lease",
    {
      title: "Revoke a lease",
      description: "Ends a lease now, e.g. one taken with lease_credential that is no longer needed.",
      inputSchema: { lease_id: z.string().min(1).max(64).describe("lease id (lease_...)") },
      annotations: { destructiveHint: true, idempotentHint: true },
    },
    ({ lease_id }) => guarded(async () => jsonResult(await vault.leases.revoke(lease_id))),
  );

  server.registerTool(
    "lease_credential",
    {
      title: "Lease a credential (metadata only)",
      description:
        "Takes a time-limited lease and returns its metadata (id, expiry), NOT the value. Prefer http_request_with_credential, which has the vault call the API with the value injected so it is never exposed. The value is returned only if the credential's policy marks it agent-visible and this server was started with --allow-reveal. Revoke the lease with revoke_lease when done.",
      inputSchema: {
        name: z.string().min(1).max(128).describe("credential name or id"),
        ttl: z
          .string()
          .regex(/^\d{1,7}[smhd]$|^\d{1,9}$/)
          .optional()
          .describe('e.g. "10m" (default: the credential\'s)'),
        purpose: z.string().max(256).optional().describe("why, for the audit log"),
      },
    },
    ({ name, ttl, purpose }) =>
      guarded(async () => {
        const decision = await mayReveal(vault, allowReveal, name);
        const lease = await vault.lease(name, {
          ttl: ttl === undefined ? undefined : /^\d+$/.test(ttl) ? Number(ttl) : (ttl as Duration),
          purpose,
          agent: agentFor("lease_credential"),
        });
        if (decision.reveal) return jsonResult({ lease: lease.metadata, value: lease.value, revealed: true });
        return jsonResult({ lease: lease.metadata, revealed: false, value_withheld: decision.reason });
      }),
  );
}
