import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { action, CliError, collect, duration, vaultClient, withJson, type JsonOption } from "../context";
import { note, printJson, printSecret, printTable, seconds, when } from "../output";

const CI_ROLES = ["viewer", "user"] as const;

/** Checks a CI `--role`: CI identities get viewer or user, never more. */
function ciRole(value: string): (typeof CI_ROLES)[number] {
  if (!(CI_ROLES as readonly string[]).includes(value)) throw new CliError("--role must be viewer or user", 2);
  return value as (typeof CI_ROLES)[number];
}

/** Parses repeated `--condition claim=glob` into a record. */
export function conditions(pairs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0 || eq === pair.length - 1) throw new CliError(`--condition must be claim=glob, got: ${pair}`, 2);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

interface OidcAddOptions extends JsonOption {
  name: string;
  issuer: string;
  audience: string;
  jwksUri?: string;
  jwksFile?: string;
  condition: string[];
  identityTemplate: string;
  role?: string;
  credential: string[];
  maxTtl?: string;
}

/** `oidc ls|add|rm` and `webhooks ls|add|rm` (admin). */
export function registerFederation(program: Command): void {
  const oidc = program.command("oidc").description("OIDC trusts for CI federation (admin): list, add, remove");

  withJson(oidc.command("ls").description("list OIDC trusts")).action(
    action(async (options: JsonOption) => {
      const { items } = await (await vaultClient()).oidc.list();
      if (options.json) return printJson({ items });
      printTable(
        ["id", "name", "issuer", "audience", "identity", "role", "credentials", "max ttl"],
        items.map((t) => [
          t.id,
          t.name,
          t.issuer,
          t.audience,
          t.identity_template,
          t.role,
          t.credentials.join(","),
          seconds(t.max_ttl),
        ]),
        "no OIDC trusts",
      );
    }),
  );

  withJson(
    oidc
      .command("add")
      .description("trust an OIDC issuer's ID tokens (e.g. GitHub Actions) to lease matching credentials")
      .requiredOption("--name <name>", "what it is for")
      .requiredOption("--issuer <url>", "token issuer, e.g. https://token.actions.githubusercontent.com")
      .requiredOption("--audience <aud>", "expected aud claim")
      .option("--jwks-uri <url>", "where the issuer's keys are (default: OIDC discovery from the issuer)")
      .option("--jwks-file <path>", "pin the issuer's keys: a JWKS JSON file, instead of --jwks-uri")
      .requiredOption(
        "--condition <claim=glob>",
        "a claim the token must match, e.g. repository_owner=acme (repeatable)",
        collect,
      )
      .requiredOption(
        "--identity-template <template>",
        "identity of a matching token, e.g. ci:github:{repository}@{ref}",
      )
      .option("--role <role>", "role of a matching token: viewer or user (default user)")
      .requiredOption("--credential <glob>", "credential names it may lease (repeatable)", collect)
      .option("--max-ttl <duration>", "longest lease, e.g. 15m (default 1h)"),
  ).action(
    action(async (options: OidcAddOptions) => {
      if (options.jwksUri !== undefined && options.jwksFile !== undefined)
        throw new CliError("give --jwks-uri or --jwks-file, not both", 2);
      let jwks: { keys: unknown[] } | undefined;
      if (options.jwksFile !== undefined) {
        const parsed: unknown = JSON.parse(await readFile(options.jwksFile, "utf8"));
        if (typeof parsed !== "object" || parsed === null || !Array.isArray((parsed as { keys?: unknown }).keys))
          throw new CliError('--jwks-file must hold a JWKS: {"keys": [...]}', 2);
        jwks = parsed as { keys: unknown[] };
      }
      const trust = await (await vaultClient()).oidc.create({
        name: options.name,
        issuer: options.issuer,
        audience: options.audience,
        jwks_uri: options.jwksUri,
        jwks,
        conditions: conditions(options.condition),
        identity_template: options.identityTemplate,
        role: options.role === undefined ? undefined : ciRole(options.role),
        credentials: options.credential,
        max_ttl: options.maxTtl === undefined ? undefined : duration(options.maxTtl),
      });
      if (options.json) return printJson(trust);
      note(`added OIDC trust ${trust.id} (${trust.name})`);
    }),
  );

  withJson(oidc.command("rm").description("delete an OIDC trust").argument("<id>", "trust id or name")).action(
    action(async (id: string, options: JsonOption) => {
      await (await vaultClient()).oidc.delete(id);
      if (options.json) return printJson({ deleted: id });
      note(`deleted OIDC trust ${id}`);
    }),
  );

  const webhooks = program
    .command("webhooks")
    .description("HMAC-signed webhook lease sources for CI (admin): list, add, remove");

  withJson(webhooks.command("ls").description("list webhooks")).action(
    action(async (options: JsonOption) => {
      const { items } = await (await vaultClient()).webhooks.list();
      if (options.json) return printJson({ items });
      printTable(
        ["id", "name", "identity", "credentials", "max ttl", "created"],
        items.map((w) => [w.id, w.name, w.identity, w.credentials.join(","), seconds(w.max_ttl), when(w.created_at)]),
        "no webhooks",
      );
    }),
  );

  withJson(
    webhooks
      .command("add")
      .description("create a webhook (identity ci:webhook:<name>); its signing secret is printed once, on stdout")
      .requiredOption("--name <name>", "1-63 of a-z 0-9 -; also its identity, ci:webhook:<name>")
      .requiredOption("--credential <glob>", "credential names it may lease (repeatable)", collect)
      .option("--max-ttl <duration>", "longest lease, e.g. 15m (default 1h)"),
  ).action(
    action(async (options: JsonOption & { name: string; credential: string[]; maxTtl?: string }) => {
      const created = await (await vaultClient()).webhooks.create({
        name: options.name,
        credentials: options.credential,
        max_ttl: options.maxTtl === undefined ? undefined : duration(options.maxTtl),
      });
      if (options.json) return printJson(created);
      note(`created webhook ${created.webhook.id} (${created.webhook.name}); the signing secret is shown once:`);
      printSecret(created.secret, true);
    }),
  );

  withJson(webhooks.command("rm").description("delete a webhook").argument("<id>", "webhook id or name")).action(
    action(async (id: string, options: JsonOption) => {
      await (await vaultClient()).webhooks.delete(id);
      if (options.json) return printJson({ deleted: id });
      note(`deleted webhook ${id}`);
    }),
  );
}
