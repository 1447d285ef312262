import { readFile, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { Option, type Command } from "commander";
import { VaultClient } from "../../sdk/index";
import { action, CliError, collect, duration, withJson, type JsonOption } from "../context";
import { note, printGithubMasks, printJson, printSecret } from "../output";
import { parseEnvMapping } from "../run/runner";

type Provider = "github" | "gitlab";

interface CiOptions extends JsonOption {
  provider: Provider;
  url?: string;
  tenant?: string;
  audience?: string;
  tokenVar?: string;
}

/** `'…'` for POSIX shells: the value exactly, whatever it holds. */
function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** URL and tenant from the options or GHOSTVAULT_URL / GHOSTVAULT_TENANT; usage error if missing. */
function target(options: CiOptions): { vault: VaultClient; url: string; tenant: string } {
  const url = options.url ?? process.env.GHOSTVAULT_URL;
  const tenant = options.tenant ?? process.env.GHOSTVAULT_TENANT;
  if (!url) throw new CliError("give --url or set GHOSTVAULT_URL", 2);
  if (!tenant) throw new CliError("give --tenant or set GHOSTVAULT_TENANT", 2);
  let vault: VaultClient;
  try {
    vault = new VaultClient({ url, retry: { maxRetries: 0 } });
  } catch {
    throw new CliError(`--url is not a URL: ${url}`, 2);
  }
  return { vault, url: vault.http.baseUrl, tenant };
}

/**
 * The job's ID token. GitHub: requested from the runner (`permissions: id-token: write`) for the
 * audience. GitLab: the variable an `id_tokens:` entry names (its `aud` is set in the YAML).
 * Each is single-use at the vault: a revoke needs a second one (GitLab: a second `id_tokens` entry).
 */
async function idToken(options: CiOptions, url: string, defaultVar: string): Promise<string> {
  if (options.provider === "gitlab") {
    const name = options.tokenVar ?? defaultVar;
    const token = process.env[name];
    if (!token)
      throw new CliError(
        `$${name} is empty: declare it under id_tokens: in the job (or name another with --token-var)`,
      );
    return token;
  }
  const requestUrl = process.env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const bearer = process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (!requestUrl || !bearer)
    throw new CliError("no OIDC token available: give the job `permissions: id-token: write`");
  const audience = options.audience ?? url;
  const response = await fetch(
    `${requestUrl}${requestUrl.includes("?") ? "&" : "?"}audience=${encodeURIComponent(audience)}`,
    {
      headers: { authorization: `Bearer ${bearer}` },
    },
  ).catch((error: unknown) => {
    throw new CliError(`cannot request the OIDC token: ${error instanceof Error ? error.message : String(error)}`);
  });
  const body = (await response.json().catch(() => null)) as { value?: unknown } | null;
  if (!response.ok || typeof body?.value !== "string")
    throw new CliError(`OIDC token request answered ${response.status} without a token`);
  return body.value;
}

function common(command: Command, tokenVar: string): Command {
  return withJson(
    command
      .addOption(
        new Option("--provider <provider>", "the CI system the ID token comes from")
          .choices(["github", "gitlab"])
          .makeOptionMandatory(),
      )
      .option("--url <url>", "vault URL (default: $GHOSTVAULT_URL)")
      .option("--tenant <id>", "tenant id (default: $GHOSTVAULT_TENANT)")
      .option("--audience <aud>", "github: audience to request the ID token for (default: the vault URL)")
      .option("--token-var <name>", `gitlab: the variable holding the ID token (default: ${tokenVar})`),
  );
}

/** `ghostvault ci lease|revoke`: leases for CI jobs by OIDC ID token, no API token involved. */
export function registerCi(program: Command): void {
  const ci = program
    .command("ci")
    .description("CI jobs: lease with the job's OIDC ID token (GitHub Actions, GitLab CI), revoke at the end");

  common(
    ci
      .command("lease")
      .description("lease credentials; prints `export VAR='value'` lines for eval, and GHOSTVAULT_LEASE_IDS")
      .requiredOption(
        "-e, --env <VAR=credential>",
        "put a credential's value in $VAR (repeatable, at most 20)",
        collect,
      )
      .option("--ttl <duration>", "lease lifetime, e.g. 15m (capped by the trust policy)")
      .option("--purpose <text>", "why, for the audit log")
      .option("--save-ids <file>", "also write the lease ids to this file, for `ci revoke --from` in an after_script"),
    "VAULT_ID_TOKEN",
  ).action(
    action(async (options: CiOptions & { env: string[]; ttl?: string; purpose?: string; saveIds?: string }) => {
      let pairs;
      try {
        pairs = options.env.map(parseEnvMapping);
      } catch (error) {
        throw new CliError((error as Error).message, 2);
      }
      const { vault, url, tenant } = target(options);
      const token = await idToken(options, url, "VAULT_ID_TOKEN");
      const granted = await vault.ci.lease({
        tenant_id: tenant,
        token,
        credentials: [...new Set(pairs.map((p) => p.credential))],
        ttl: options.ttl === undefined ? undefined : duration(options.ttl),
        purpose: options.purpose,
        agent: { name: "ghostvault-cli", host: hostname().slice(0, 256) },
      });
      const ids = granted.leases.map((l) => l.lease.id);
      if (options.saveIds) await writeFile(options.saveIds, `${ids.join("\n")}\n`, { mode: 0o600 });
      const values = new Map(granted.leases.map((l) => [l.lease.credential_name, l.value]));
      if (options.json)
        return printJson({
          identity: granted.identity,
          leases: granted.leases,
          env: Object.fromEntries(pairs.map((p) => [p.variable, values.get(p.credential)])),
        });
      // In GitHub Actions, mask each value (and line) in the job log; on stderr, since stdout goes to eval.
      if (options.provider === "github" && process.env.GITHUB_ACTIONS === "true") {
        for (const value of values.values()) printGithubMasks(value);
      }
      const lines = pairs.map((p) => `export ${p.variable}=${shellQuote(values.get(p.credential) ?? "")}`);
      // Holds the values themselves (for eval), so it goes out byte for byte like any leased value.
      printSecret(`${[...lines, `export GHOSTVAULT_LEASE_IDS=${shellQuote(ids.join(","))}`].join("\n")}\n`, false);
      note(
        `leased ${ids.length} credential(s) as ${granted.identity}; revoke at the end with \`ghostvault ci revoke\``,
      );
    }),
  );

  common(
    ci
      .command("revoke")
      .description(
        "revoke this job's leases (ids as arguments, from --from FILE, or $GHOSTVAULT_LEASE_IDS) with a fresh ID token",
      )
      .argument("[lease-ids...]", "lease ids")
      .option("--from <file>", "read lease ids from this file (written by `ci lease --save-ids`)"),
    "VAULT_REVOKE_ID_TOKEN",
  ).action(
    action(async (given: string[], options: CiOptions & { from?: string }) => {
      const fromFile = options.from
        ? (
            await readFile(options.from, "utf8").catch(() => {
              throw new CliError(`cannot read ${options.from}`);
            })
          ).split(/\s+/)
        : [];
      const fromEnv = given.length === 0 && !options.from ? (process.env.GHOSTVAULT_LEASE_IDS ?? "").split(",") : [];
      const ids = [...new Set([...given, ...fromFile, ...fromEnv].map((s) => s.trim()).filter(Boolean))];
      if (ids.length === 0) {
        note("no leases to revoke");
        return options.json ? printJson({ leases: [] }) : undefined;
      }
      const { vault, url, tenant } = target(options);
      const revoked = await vault.ci.revoke({
        tenant_id: tenant,
        token: await idToken(options, url, "VAULT_REVOKE_ID_TOKEN"),
        lease_ids: ids,
      });
      if (options.json) return printJson(revoked);
      note(
        `revoked ${revoked.leases.length} lease(s) of ${revoked.identity}: ${revoked.leases.map((l) => `${l.id} (${l.state})`).join(", ")}`,
      );
    }),
  );
}
