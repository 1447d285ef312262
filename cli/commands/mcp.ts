import type { Command } from "commander";
import { AllowedPrograms } from "../../mcp/allowed-programs";
import { resolveLogin } from "../config";
import { action, CliError, collect, vaultClient } from "../context";

/** `mcp`: the value-blind MCP server on stdio. */
export function registerMcp(program: Command, version: string): void {
  program
    .command("mcp")
    .description("serve the vault to an AI coding tool as a value-blind MCP server on stdio")
    .option("--allow-reveal", "let lease_credential return values of credentials whose policy sets agent_visible")
    .option(
      "--allow-run <program>",
      "let run_with_credentials start this program (absolute path or name on PATH; repeatable); none by default",
      collect,
    )
    .option("--json", "report a failure to start as JSON on stdout (once serving, stdout is the MCP protocol)")
    .addHelpText(
      "after",
      `
The model gets names, metadata and command results, never values: run_with_credentials runs a
command with credentials in its environment and masks them in its output. A value is revealed
only when BOTH this flag is given AND the credential's policy says agent_visible (reading the
policy needs a manager token).

run_with_credentials is refused unless programs are listed with --allow-run; the command's
argv[0] must resolve to one of them exactly. A program that can read its environment (a shell,
an interpreter, env) can print a value to the model in a form masking misses: list one only if
that is acceptable. Commands get only the leased values and PATH, HOME, LANG, LC_ALL, TZ.

The token comes from the login file (\`ghostvault [--profile NAME] login\`), never from
GHOSTVAULT_TOKEN: every process of the same user could read the server's environment
(/proc/PID/environ). Give the server a token whose identity may only use credentials.`,
    )
    .action(
      action(async (options: { allowReveal?: boolean; allowRun?: string[] }) => {
        // The environment a process started with stays readable in /proc/PID/environ for its
        // lifetime, to every command this server runs; node cannot re-exec itself without it.
        if (process.env.GHOSTVAULT_TOKEN) {
          throw new CliError(
            "the MCP server does not take GHOSTVAULT_TOKEN from its environment, where every command it runs could read it (/proc/PID/environ): store the token once with `ghostvault --profile mcp login URL` and start `ghostvault --profile mcp mcp` without GHOSTVAULT_TOKEN",
            2,
          );
        }
        let allowRun: AllowedPrograms;
        try {
          allowRun = AllowedPrograms.resolve(options.allowRun ?? [], process.env.PATH, process.cwd());
        } catch (error) {
          throw new CliError((error as Error).message, 2);
        }
        // An editor starts this server with its own environment and shows only stderr: without a
        // login, say so there and what to do, rather than exiting without a word.
        const login = await resolveLogin().catch((error: unknown) => {
          throw new CliError(
            `the MCP server cannot start: ${(error as Error).message}; an editor's MCP config can pass --profile NAME in its "args"`,
          );
        });
        const vault = await vaultClient();
        // Loaded on demand: the MCP SDK is the heaviest import, and only this command needs it.
        const { serveStdio } = await import("../../mcp/server");
        await serveStdio({ vault, allowReveal: options.allowReveal === true, allowRun, token: login.token, version });
        process.exit(process.exitCode ?? 0);
      }),
    );
}
