import path from "node:path";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import type { Duration, VaultClient } from "../sdk/node";
import { minimalEnv } from "../cli/run/child-env";
import { CommandRun, type EnvMapping } from "../cli/run/runner";
import type { AllowedPrograms } from "./allowed-programs";
import { BoundedOutput } from "./bounded-output";
import type { AgentFor } from "./server";
import { errorResult, guarded, jsonResult } from "./tool-result";

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

/** What the model is told when it asks for a program the person starting the server did not allow. */
function refusal(allowed: AllowedPrograms, argv0: string): string {
  const list = allowed.list;
  if (list.length === 0) {
    return "run_with_credentials is disabled on this server: the person who started it allowed no program (ghostvault mcp --allow-run PROGRAM). Nothing was run or leased. Ask them to allow the program you need.";
  }
  return `${JSON.stringify(argv0.slice(0, 256))} is not an allowed program on this server; allowed: ${list.join(", ")} (ghostvault mcp --allow-run PROGRAM). Nothing was run or leased.`;
}

/**
 * Registers `run_with_credentials`: a command from `allowed` only, in a fresh minimal
 * environment holding the leased values and nothing of the server's, output masked.
 */
export function registerRunTool(
  server: McpServer,
  vault: VaultClient,
  agentFor: AgentFor,
  allowed: AllowedPrograms,
  alsoMask: readonly string[],
): void {
  const enabled = allowed.list.length > 0;
  server.registerTool(
    "run_with_credentials",
    {
      title: "Run a command with credentials",
      description:
        (enabled
          ? `Allowed programs on this server: ${allowed.list.join(", ")}. `
          : "DISABLED on this server (no program allowed): every call is refused. ") +
        "Leases the credentials, runs the command (no shell) with them as environment variables and only a minimal PATH/HOME/LANG besides, renews the leases while it runs, revokes them when it ends, and returns its exit code and output with every credential value (and its base64/hex/URL encodings) replaced by *****. You never see the values and do not need to. Variables in arguments are NOT expanded (no shell).",
      inputSchema: {
        command: z.array(z.string()).min(1).max(256).describe('program and arguments, e.g. ["npm", "run", "deploy"]'),
        env: z
          .record(z.string().regex(ENV_VAR, "must be an environment variable name"), z.string().min(1).max(128))
          .refine((e) => Object.keys(e).length > 0, "map at least one variable to a credential")
          .describe('environment variable -> credential name, e.g. {"OPENAI_API_KEY": "openai"}'),
        ttl: z
          .string()
          .regex(/^\d{1,7}[smhd]$|^\d{1,9}$/)
          .optional()
          .describe('lease TTL, renewed while the command runs, e.g. "15m" (default: the credential\'s)'),
        timeout_seconds: z
          .number()
          .int()
          .min(1)
          .max(MAX_TIMEOUT_S)
          .optional()
          .describe(`kill the command after this long (default ${DEFAULT_TIMEOUT_S})`),
        cwd: z.string().optional().describe("working directory (default: the server's)"),
        purpose: z.string().max(256).optional().describe("why, for the audit log"),
      },
      annotations: { destructiveHint: true, openWorldHint: true },
    },
    ({ command, env, ttl, timeout_seconds, cwd, purpose }) =>
      guarded(async () => {
        // Checked before anything is leased: a refused command costs the vault nothing.
        const program = allowed.check(command[0]!, path.resolve(cwd ?? "."));
        if (program === undefined) return errorResult(new Error(refusal(allowed, command[0]!)));
        const mappings: EnvMapping[] = Object.entries(env).map(([variable, credential]) => ({ variable, credential }));
        const stdout = new BoundedOutput(OUTPUT_LIMIT_BYTES);
        const stderr = new BoundedOutput(OUTPUT_LIMIT_BYTES);
        const warnings: string[] = [];
        const run = new CommandRun({
          vault,
          command: [program, ...command.slice(1)],
          env: mappings,
          baseEnv: minimalEnv(process.env),
          alsoMask,
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
