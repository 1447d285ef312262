import { hostname } from "node:os";
import { Option, type Command } from "commander";
import type { LeaseInfo, RevokeMatching } from "../../sdk/index";
import { action, CliError, duration, positiveInt, vaultClient, withJson, type JsonOption } from "../context";
import { aboutCredential } from "../errors";
import { note, printFields, printJson, printSecret, printTable, when } from "../output";
import { leaseWaiting, withWaitOptions, type WaitFlags } from "./requests";

function leaseFields(l: LeaseInfo): [string, string | number | null][] {
  return [
    ["lease", l.id],
    ["credential", `${l.credential_name} v${l.version}`],
    ["identity", l.identity],
    ["state", l.state],
    ["issued", when(l.issued_at)],
    ["expires", when(l.expires_at)],
    ["max expires", when(l.max_expires_at)],
  ];
}

/** `lease NAME` (value to stdout, metadata to stderr) and `leases ls|renew|revoke|revoke-all`. */
export function registerLeases(program: Command): void {
  withJson(
    withWaitOptions(
      program
        .command("lease")
        .description("lease a credential: the value goes to stdout alone, the lease's metadata to stderr")
        .argument("<name>", "credential name or id")
        .option("--ttl <duration>", "lease lifetime, e.g. 10m (default: the credential's)")
        .option("--clamp", "take the credential's maximum instead of failing when --ttl is over it")
        .option("--purpose <text>", "why, for the audit log"),
    ),
  ).action(
    action(
      async (name: string, options: JsonOption & WaitFlags & { ttl?: string; clamp?: boolean; purpose?: string }) => {
        const vault = await vaultClient();
        // One key per invocation: the SDK may then retry a lost or throttled request, and the vault
        // answers the first lease again instead of issuing a second one (README "API").
        const lease = await leaseWaiting(vault, options)(
          name,
          {
            ttl: options.ttl === undefined ? undefined : duration(options.ttl),
            clamp: options.clamp,
            purpose: options.purpose,
            agent: { name: "ghostvault-cli", host: hostname().slice(0, 256) },
          },
          { idempotencyKey: crypto.randomUUID() },
        ).catch(aboutCredential(name));
        if (options.json) return printJson({ lease: lease.metadata, value: lease.value });
        note(
          `lease ${lease.id} of ${lease.metadata.credential_name} v${lease.metadata.version}, expires ${when(lease.metadata.expires_at)}`,
        );
        // No newline when stdout is a pipe: `$(ghostvault lease x)` and `| tool` get the value exactly.
        printSecret(lease.value);
      },
    ),
  );

  const leases = program.command("leases").description("leases: list, renew, revoke, revoke all matching");

  withJson(
    leases
      .command("ls")
      .description("list leases (your own, or all for managers), newest first")
      .addOption(new Option("--state <state>", "only leases in this state").choices(["active", "expired", "revoked"]))
      .option("--credential <name>", "only leases of this credential")
      .option("--identity <identity>", "only leases of this identity (managers)")
      .option("--limit <n>", "at most this many (1-100)", positiveInt),
  ).action(
    action(async (options: JsonOption & { state?: string; credential?: string; identity?: string; limit?: number }) => {
      const page = await (await vaultClient()).leases.list({
        state: options.state as LeaseInfo["state"] | undefined,
        credential: options.credential,
        identity: options.identity,
        limit: options.limit,
      });
      if (options.json) return printJson(page);
      printTable(
        ["lease", "credential", "identity", "agent", "state", "expires"],
        page.items.map((l) => [
          l.id,
          `${l.credential_name} v${l.version}`,
          l.identity,
          l.agent?.name,
          l.state,
          when(l.expires_at),
        ]),
        "no leases",
      );
    }),
  );

  withJson(
    leases
      .command("renew")
      .description("extend a lease (never past its maximum lifetime)")
      .argument("<id>", "lease id")
      .option("--ttl <duration>", "new term from now (default: its original TTL)"),
  ).action(
    action(async (id: string, options: JsonOption & { ttl?: string }) => {
      const lease = await (await vaultClient()).leases.renew(
        id,
        options.ttl === undefined ? undefined : duration(options.ttl),
      );
      if (options.json) return printJson(lease);
      printFields(leaseFields(lease));
    }),
  );

  withJson(leases.command("revoke").description("end a lease now").argument("<id>", "lease id")).action(
    action(async (id: string, options: JsonOption) => {
      const lease = await (await vaultClient()).leases.revoke(id);
      if (options.json) return printJson(lease);
      note(`revoked ${lease.id} (${lease.credential_name})`);
    }),
  );

  withJson(
    leases
      .command("revoke-all")
      .description("break glass: revoke every active lease matching a filter")
      .option("--credential <name>", "every lease of this credential")
      .option("--identity <glob>", 'every lease of identities matching, e.g. "agent:*"')
      .option("--all", "every active lease of the tenant")
      .option("--reason <text>", "why, for the audit log"),
  ).action(
    action(async (options: JsonOption & { credential?: string; identity?: string; all?: boolean; reason?: string }) => {
      if (!options.all && options.credential === undefined && options.identity === undefined)
        throw new CliError("give --credential, --identity or --all", 2);
      if (options.all && (options.credential !== undefined || options.identity !== undefined))
        throw new CliError("--all takes no other filter", 2);
      const filter: RevokeMatching = options.all
        ? { all: true, reason: options.reason }
        : { credential: options.credential, identity: options.identity, reason: options.reason };
      const result = await (await vaultClient()).leases.revokeMatching(filter);
      if (options.json) return printJson(result);
      note(`revoked ${result.revoked} lease${result.revoked === 1 ? "" : "s"}`);
    }),
  );
}
