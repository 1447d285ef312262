import type { Command } from "commander";
import { AuditForkError, FileCheckpointMemory } from "../../sdk/node";
import { action, CliError, collect, positiveInt, vaultClient, withJson, type JsonOption } from "../context";
import { printFields, printJson } from "../output";
import { checkpointMemoryFile, requireKey, trust } from "./audit-verify";

type HeadOptions = JsonOption & { publicKey?: string; witnessKey: string[]; witnessQuorum?: number };

/**
 * `ghostvault audit check-head`: online fork detection in two small requests. The vault's newest
 * signed Merkle checkpoint is checked with the caller's key (and witness quorum) and proved, by a
 * consistency proof, to extend the one this machine remembered; then it is remembered. Meant for
 * a cron job or a CI step: exit 0 consistent, 1 could not check, 3 fork or rollback (as `audit
 * verify`). The memory file is the one `audit verify` keeps, so either command moves it forward.
 */
export function registerAuditHead(audit: Command): void {
  withJson(
    audit
      .command("check-head")
      .description(
        "check the vault's newest signed checkpoint and prove it extends the one remembered here (online fork detection; exit 3 on a fork)",
      )
      .option("--public-key <vkey>", "the signing key (or GHOSTVAULT_AUDIT_KEY, or audit-trust.json); required")
      .option("--witness-key <vkey>", "a trusted witness's cosignature/v1 key (repeatable)", collect, [])
      .option("--witness-quorum <k>", "how many of the witness keys must have cosigned (default: all)", positiveInt),
  ).action(
    action(async (options: HeadOptions) => {
      const { publicKey, witnesses } = await trust(options);
      const key = requireKey(publicKey, "check-head");
      const memoryFile = checkpointMemoryFile();
      const vault = await vaultClient();
      let result;
      try {
        result = await vault.audit.checkHead(key, { memory: new FileCheckpointMemory(memoryFile), witnesses });
      } catch (error) {
        if (error instanceof AuditForkError)
          throw new CliError(`${error.message}; the remembered note is in ${memoryFile}`, 3);
        throw error;
      }
      if (options.json) printJson(result);
      else if (result.ok)
        printFields([
          ["ok", "yes (head)"],
          ["size", result.size],
          ["root", result.root],
          ["proved from", result.provedFrom === null ? "nothing remembered yet: remembered now" : result.provedFrom],
          ...(witnesses ? [["cosigned by", result.cosignedBy.join(", ")] as [string, string]] : []),
        ]);
      if (!result.ok) throw new CliError(`the audit head does not check: ${result.reason}`);
    }),
  );
}
