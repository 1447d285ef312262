import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import type { Duration, VaultClient } from "../sdk/node";
import { CommandRun, type EnvMapping } from "../cli/run/runner";
import { BoundedOutput } from "./bounded-output";
import type { AgentFor } from "./server";
import { guarded, jsonResult } from "./tool-result";

/** Output kept per stream for the model. */
export const OUTPUT_LIMIT_BYTES = 32 * 1024;
const DEFAULT_TIMEOUT_S = 120;
const MAX_TIMEOUT_S = 600;

const runs = new Set<{ run: CommandRun; done: Promise<unknown> }>();

/**
 * Stops every command still running (SIGTERM, SIGKILL after a grace period) and waits until each
 * has ended and its leases are revoked: for shutdown.
 */
export async function stopAllRuns(): Promise<void> {
  for (const { run } of runs) run.signal("SIGTERM");
  await Promise.allSettled([...runs].map((r) => r.done));
}

const ENV_VAR = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Registers `run_with_credentials`: the way a model uses credentials without seeing them. */
export function registerRunTool(server: McpServer, vault: VaultClient, agentFor: AgentFor): void {
  server.registerTool(
    "run_with_credentials",
    {
      title: "Run a command with credentials",
      description:
        "PREFERRED way to use any credential. Leases the credentials, runs the command (no shell) with them as environment variables, renews the leases while it runs, revokes them when it ends, and returns its exit code and output with every credential value replaced by *****. You never see the values and do not need to. Example: command [\"curl\", \"-sS\", \"-H\", \"Authorization: Bearer ${...}\"] will NOT expand variables (no shell): use [\"sh\", \"-c\", \"curl -H \\\"Authorization: Bearer $OPENAI_API_KEY\\\" ...\"] when you need expansion.",
      inputSchema: {
        command: z.array(z.string()).min(1).max(256).describe("program and arguments, e.g. [\"npm\", \"run\", \"deploy\"]"),
        env: z
          .record(z.string().regex(ENV_VAR, "must be an environment variable name"), z.string().min(1).max(128))
          .refine((e) => Object.keys(e).length > 0, "map at least one variable to a credential")
          .describe('environment variable -> credential name, e.g. {"OPENAI_API_KEY": "openai"}'),
        ttl: z.string().regex(/^\d{1,7}[smhd]$|^\d{1,9}$/).optional().describe('lease TTL, renewed while the command runs, e.g. "15m" (default: the credential\'s)'),
        timeout_seconds: z.number().int().min(1).max(MAX_TIMEOUT_S).optional().describe(`kill the command after this long (default ${DEFAULT_TIMEOUT_S})`),
        cwd: z.string().optional().describe("working directory (default: the server's)"),
        purpose: z.string().max(256).optional().describe("why, for the audit log"),
      },
      annotations: { destructiveHint: true, openWorldHint: true },
    },
    ({ command, env, ttl, timeout_seconds, cwd, purpose }) =>
      guarded(async () => {
        const mappings: EnvMapping[] = Object.entries(env).map(([variable, credential]) => ({ variable, credential }));
        const stdout = new BoundedOutput(OUTPUT_LIMIT_BYTES);
        const stderr = new BoundedOutput(OUTPUT_LIMIT_BYTES);
        const warnings: string[] = [];
        const run = new CommandRun({
          vault,
          command,
          env: mappings,
          ttl: ttl === undefined ? undefined : /^\d+$/.test(ttl) ? Number(ttl) : (ttl as Duration),
          purpose,
          agent: agentFor("run_with_credentials"),
          // The server's stdin is the MCP protocol: the child must not read it.
          stdin: "ignore",
          stdout,
          stderr,
          cwd,
          timeoutMs: (timeout_seconds ?? DEFAULT_TIMEOUT_S) * 1000,
          onWarning: (message) => warnings.push(message),
        });
        const done = run.start();
        const entry = { run, done };
        runs.add(entry);
        try {
          const result = await done;
          return jsonResult({
            exit_code: result.exitCode,
            signal: result.signal,
            timed_out: result.timedOut,
            stdout: stdout.text(),
            stderr: stderr.text(),
            truncated: { stdout_bytes: stdout.dropped, stderr_bytes: stderr.dropped },
            leases: result.leaseIds,
            warnings,
          });
        } finally {
          runs.delete(entry);
        }
      }),
  );
}
