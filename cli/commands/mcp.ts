import type { Command } from "commander";
import { resolveLogin } from "../config";
import { action, CliError, vaultClient } from "../context";

/** `mcp`: the value-blind MCP server on stdio. */
export function registerMcp(program: Command, version: string): void {
  program
    .command("mcp")
    .description("serve the vault to an AI coding tool as a value-blind MCP server on stdio")
    .option("--allow-reveal", "let lease_credential return values of credentials whose policy sets agent_visible")
    .option("--json", "report a failure to start as JSON on stdout (once serving, stdout is the MCP protocol)")
    .addHelpText(
      "after",
      `
The model gets names, metadata and command results, never values: run_with_credentials runs a
command with credentials in its environment and masks them in its output. A value is revealed
only when BOTH this flag is given AND the credential's policy says agent_visible (reading the
policy needs a manager token). Uses the login of \`ghostvault login\` or GHOSTVAULT_URL/GHOSTVAULT_TOKEN.`,
    )
    .action(
      action(async (options: { allowReveal?: boolean }) => {
        // An editor starts this server with its own environment and shows only stderr: without a
        // login, say so there and what to do, rather than exiting without a word.
        await resolveLogin().catch((error: unknown) => {
          throw new CliError(
            `the MCP server cannot start: ${(error as Error).message}; an editor's MCP config can pass GHOSTVAULT_URL and GHOSTVAULT_TOKEN in its "env"`,
          );
        });
        const vault = await vaultClient();
        // Loaded on demand: the MCP SDK is the heaviest import, and only this command needs it.
        const { serveStdio } = await import("../../mcp/server");
        await serveStdio({ vault, allowReveal: options.allowReveal === true, version });
        process.exit(process.exitCode ?? 0);
      }),
    );
}
