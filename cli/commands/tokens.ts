import { readFile } from "node:fs/promises";
import { InvalidArgumentError, type Command } from "commander";
import type { SetAcl } from "../../sdk/index";
import { action, CliError, duration, vaultClient, withJson, type JsonOption } from "../context";
import { readAll } from "../input";
import { aboutCredential } from "../errors";
import { note, printFields, printJson, printSecret, printTable, when } from "../output";

const ROLES = ["viewer", "user", "manager", "admin"] as const;
type RoleName = (typeof ROLES)[number];

/** Checks a `--role` value (an argParser: commander reports it as a usage error, exit 2). */
export function role(value: string): RoleName {
  if (!(ROLES as readonly string[]).includes(value))
    throw new InvalidArgumentError(`expected one of ${ROLES.join(", ")}`);
  return value as RoleName;
}

/** `tokens ls|create|revoke` and `acl get|set`. */
export function registerTokens(program: Command): void {
  const tokens = program.command("tokens").description("API tokens (admin): list, create, revoke");

  withJson(
    tokens.command("ls").description("list tokens (metadata only)").option("--include-revoked", "also revoked tokens"),
  ).action(
    action(async (options: JsonOption & { includeRevoked?: boolean }) => {
      const page = await (await vaultClient()).tokens.list({ include_revoked: options.includeRevoked ?? false });
      if (options.json) return printJson(page);
      printTable(
        ["id", "name", "kind", "role", "identity", "expires", "revoked"],
        page.items.map((t) => [t.id, t.name, t.kind, t.role, t.identity, when(t.expires_at), when(t.revoked_at)]),
        "no tokens",
      );
    }),
  );

  withJson(
    tokens
      .command("create")
      .description("create an API token; it is printed once, on stdout")
      .requiredOption("--name <name>", "what it is for")
      .requiredOption("--role <role>", "viewer, user, manager or admin", role)
      .requiredOption("--identity <identity>", "who it acts as, e.g. agent:claude-code@laptop")
      .option("--expires-in <duration>", "lifetime, e.g. 30d (default: no expiry)"),
  ).action(
    action(async (options: JsonOption & { name: string; role: RoleName; identity: string; expiresIn?: string }) => {
      const created = await (await vaultClient()).tokens.create({
        name: options.name,
        role: options.role,
        identity: options.identity,
        expires_in: options.expiresIn === undefined ? undefined : duration(options.expiresIn),
      });
      if (options.json) return printJson(created);
      note(`created ${created.id} (${created.role}, ${created.identity}); the token is shown once:`);
      printSecret(created.token, true);
    }),
  );

  withJson(
    tokens.command("revoke").description("revoke a token, effective on its next use").argument("<id>", "token id"),
  ).action(
    action(async (id: string, options: JsonOption) => {
      await (await vaultClient()).tokens.revoke(id);
      if (options.json) return printJson({ revoked: id });
      note(`revoked ${id}`);
    }),
  );

  const acl = program.command("acl").description("credential access policies (manager): get, set");

  withJson(
    acl
      .command("get")
      .description("a credential's ACL rules and agent visibility")
      .argument("<name>", "credential name or id"),
  ).action(
    action(async (name: string, options: JsonOption) => {
      const policy = await (await vaultClient()).acl.get(name).catch(aboutCredential(name));
      if (options.json) return printJson(policy);
      printFields([["agent visible", policy.agent_visible ? "yes" : "no"]]);
      printTable(
        ["#", "effect", "identity"],
        policy.rules.map((r, i) => [i + 1, r.effect, r.identity]),
        "no rules: any identity with role user or above may lease",
      );
    }),
  );

  withJson(
    acl
      .command("set")
      .description(
        'replace a credential\'s policy with JSON {"rules":[{"effect":"allow","identity":"agent:*"}],"agent_visible":false}',
      )
      .argument("<name>", "credential name or id")
      .option("--file <path>", "read the policy from this file (default: stdin)"),
  ).action(
    action(async (name: string, options: JsonOption & { file?: string }) => {
      const text = options.file === undefined ? await readAll() : await readFile(options.file, "utf8");
      let policy: unknown;
      try {
        policy = JSON.parse(text);
      } catch {
        throw new CliError("the policy is not valid JSON", 2);
      }
      if (typeof policy !== "object" || policy === null || !Array.isArray((policy as { rules?: unknown }).rules)) {
        throw new CliError('the policy must be an object with "rules" (an array) and optionally "agent_visible"', 2);
      }
      // The server validates rule by rule and answers with a message naming the bad field.
      const saved = await (await vaultClient()).acl.set(name, policy as SetAcl).catch(aboutCredential(name));
      if (options.json) return printJson(saved);
      note(
        `set the policy of ${name}: ${saved.rules.length} rule${saved.rules.length === 1 ? "" : "s"}, agent visible: ${saved.agent_visible ? "yes" : "no"}`,
      );
    }),
  );
}
