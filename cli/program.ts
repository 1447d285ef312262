/** The `ghostvault` command tree: one file per command group under commands/. */

import { Command, InvalidArgumentError } from "commander";
import { PROFILE_NAME } from "./config";
import pkg from "./package.json";
import { registerAdmin } from "./commands/admin";
import { registerAudit } from "./commands/audit";
import { registerAuth } from "./commands/auth";
import { registerCi } from "./commands/ci";
import { registerCompletion } from "./commands/completion";
import { registerCreds } from "./commands/creds";
import { registerFederation } from "./commands/federation";
import { registerHttp } from "./commands/http";
import { registerLeases } from "./commands/leases";
import { registerMcp } from "./commands/mcp";
import { registerOperator } from "./commands/operator";
import { registerRequests } from "./commands/requests";
import { registerRun } from "./commands/run";
import { registerTokens } from "./commands/tokens";
import { jsonRequested, reportUsageError } from "./errors";

function profileOption(value: string): string {
  if (!PROFILE_NAME.test(value))
    throw new InvalidArgumentError("expected 1-63 of A-Z a-z 0-9 _ - (starting with a letter or digit)");
  return value;
}

/**
 * Builds the program (without parsing): commands, options and help. Usage errors (unknown
 * command or option, bad option value, missing argument) are one line on stderr, or
 * `{"error":{"code":"usage",...}}` on stdout under --json, and throw a CommanderError instead of
 * exiting, so that main.ts exits 2. Subcommands copy these settings when they are created, so
 * they are set before any command is registered.
 */
export function buildProgram(argv: readonly string[] = process.argv): Command {
  const program = new Command("ghostvault")
    .description("Vault: leased, audited credentials for people, CI and AI agents")
    .version(pkg.version)
    .exitOverride()
    .configureOutput({ outputError: (text, write) => reportUsageError(text, jsonRequested(argv), write) })
    .option(
      "--profile <name>",
      "use the login stored under this name, for several vaults (default: $GHOSTVAULT_PROFILE)",
      profileOption,
    )
    // `run` hands everything after its command to the child, options included.
    .enablePositionalOptions()
    // The config functions read the profile from the environment, so --profile is passed there.
    .hook("preAction", (self) => {
      const profile = self.opts<{ profile?: string }>().profile;
      if (profile !== undefined) process.env.GHOSTVAULT_PROFILE = profile;
    });
  registerAuth(program);
  registerCreds(program);
  registerLeases(program);
  registerRun(program);
  registerRequests(program);
  registerHttp(program);
  registerAudit(program);
  registerTokens(program);
  registerFederation(program);
  registerCi(program);
  registerAdmin(program);
  registerOperator(program);
  registerMcp(program, pkg.version);
  registerCompletion(program);
  return program;
}
