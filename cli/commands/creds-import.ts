import type { Command } from "commander";
import { isVaultError, type VaultClient } from "../../sdk/index";
import { action, CliError, duration, vaultClient, withJson, type JsonOption } from "../context";
import { errorMessage } from "../errors";
import { note, printJson, printTable } from "../output";
import { parseEnvFile, readEnvFile, REFERENCE_PREFIX } from "../run/env-file";

interface ImportOptions extends JsonOption {
  prefix: string;
  defaultTtl?: string;
  maxTtl?: string;
}

/** What became of one variable of the file; never its value. */
interface ImportResult {
  variable: string;
  credential: string;
  result: "created" | "exists" | "failed";
  id?: string;
  message?: string;
}

/** The credential name for `variable`: the prefix, then the name in lower case with `_` as `-`. */
export function credentialName(prefix: string, variable: string): string {
  return prefix + variable.toLowerCase().replace(/_/g, "-");
}

async function importOne(
  vault: VaultClient,
  variable: string,
  value: string,
  options: ImportOptions,
): Promise<ImportResult> {
  const credential = credentialName(options.prefix, variable);
  try {
    const created = await vault.credentials.create({
      name: credential,
      value,
      default_ttl: options.defaultTtl === undefined ? undefined : duration(options.defaultTtl),
      max_ttl: options.maxTtl === undefined ? undefined : duration(options.maxTtl),
    });
    return { variable, credential, result: "created", id: created.id };
  } catch (error) {
    // Never overwritten: replacing a value is `creds rotate`, a deliberate act.
    if (isVaultError(error, "conflict"))
      return {
        variable,
        credential,
        result: "exists",
        message: `not changed (replace it with: ghostvault creds rotate ${credential})`,
      };
    // The server's messages never carry a value; a network failure names host and cause.
    return { variable, credential, result: "failed", message: errorMessage(error) };
  }
}

/** `creds import FILE --prefix P`: each `VAR=value` of a .env file becomes credential `P` + `var`. */
export function registerCredsImport(creds: Command): void {
  withJson(
    creds
      .command("import")
      .description(
        "store each VAR=value of a .env file as a credential (values never echoed); existing credentials are left as they are",
      )
      .argument("<file>", "a .env file; VAR=gv://… lines are skipped")
      .option(
        "--prefix <prefix>",
        "prepended to each name: OPENAI_API_KEY with --prefix app/ becomes app/openai-api-key",
        "",
      )
      .option("--default-ttl <duration>", "lease TTL of the new credentials, e.g. 15m")
      .option("--max-ttl <duration>", "longest lease of the new credentials, e.g. 1h"),
  ).action(
    action(async (file: string, options: ImportOptions) => {
      let parsed;
      try {
        parsed = parseEnvFile(await readEnvFile(file), file);
      } catch (error) {
        throw new CliError((error as Error).message, 2);
      }
      const entries = Object.entries(parsed.plain);
      if (entries.length === 0) throw new CliError(`${file} has no VAR=value line to import`, 2);
      const vault = await vaultClient();
      const items: ImportResult[] = [];
      // One at a time, in file order: the results read in the order of the file.
      for (const [variable, value] of entries) items.push(await importOne(vault, variable, value, options));
      const failed = items.filter((i) => i.result !== "created").length;
      if (options.json) printJson({ items, skipped_references: parsed.leased.map((l) => l.variable) });
      else {
        printTable(
          ["variable", "credential", "result", "note"],
          items.map((i) => [i.variable, i.credential, i.result, i.message ?? i.id]),
        );
        if (parsed.leased.length > 0)
          note(
            `skipped ${parsed.leased.length} ${REFERENCE_PREFIX} reference${parsed.leased.length === 1 ? "" : "s"}: ${parsed.leased.map((l) => l.variable).join(", ")}`,
          );
      }
      if (failed > 0) process.exitCode = 1;
    }),
  );
}
