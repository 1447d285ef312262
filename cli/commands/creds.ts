import type { Command } from "commander";
import type { Credential } from "../../sdk/index";
import {
  action,
  assertNoValueOption,
  collect,
  duration,
  positiveInt,
  refuseValueOption,
  vaultClient,
  withJson,
  type JsonOption,
} from "../context";
import { readSecret } from "../input";
import { registerCredsImport } from "./creds-import";
import { aboutCredential } from "../errors";
import { note, printFields, printJson, printLine, printTable, seconds, when } from "../output";

interface MetadataOptions extends JsonOption {
  description?: string;
  tag?: string[];
  defaultTtl?: string;
  maxTtl?: string;
  value?: string;
}

function metadata(options: MetadataOptions) {
  return {
    description: options.description,
    tags: options.tag,
    default_ttl: options.defaultTtl === undefined ? undefined : duration(options.defaultTtl),
    max_ttl: options.maxTtl === undefined ? undefined : duration(options.maxTtl),
  };
}

function metadataOptions(command: Command): Command {
  return command
    .option("--description <text>", "what the credential is for")
    .option("--tag <tag>", "a tag (repeatable); replaces all tags on update", collect)
    .option("--default-ttl <duration>", "lease TTL when none is asked for, e.g. 15m")
    .option("--max-ttl <duration>", "longest lease and lease lifetime, e.g. 1h");
}

function showCredential(c: Credential): void {
  printFields([
    ["name", c.name],
    ["id", c.id],
    ["description", c.description],
    ["tags", c.tags.join(", ")],
    ["version", c.current_version],
    ["default ttl", seconds(c.default_ttl)],
    ["max ttl", seconds(c.max_ttl)],
    ["created", `${when(c.created_at)} by ${c.created_by}`],
    ["updated", when(c.updated_at)],
  ]);
}

/** `creds ls|add|show|update|rotate|rm`: credential metadata; values only from stdin or a hidden prompt. */
export function registerCreds(program: Command): void {
  const creds = program.command("creds").description("credentials: list, add, import, show, update, rotate, remove");

  withJson(
    creds
      .command("ls")
      .description("list credentials (metadata only)")
      .option("--prefix <prefix>", "only names starting with this")
      .option("--tag <tag>", "only credentials with this tag")
      .option("--limit <n>", "at most this many", positiveInt),
  ).action(
    action(async (options: JsonOption & { prefix?: string; tag?: string; limit?: number }) => {
      const vault = await vaultClient();
      const items: Credential[] = [];
      for await (const c of vault.credentials.listAll({ prefix: options.prefix, tag: options.tag })) {
        items.push(c);
        if (options.limit !== undefined && items.length >= options.limit) break;
      }
      if (options.json) return printJson({ items });
      printTable(
        ["name", "version", "default ttl", "max ttl", "tags", "updated"],
        items.map((c) => [
          c.name,
          c.current_version,
          seconds(c.default_ttl),
          seconds(c.max_ttl),
          c.tags.join(","),
          when(c.updated_at),
        ]),
        "no credentials",
      );
    }),
  );

  withJson(
    refuseValueOption(
      metadataOptions(
        creds
          .command("add")
          .description("add a credential; the value is read from stdin or a hidden prompt")
          .argument("<name>", "e.g. prod/db-url"),
      ),
    ),
  ).action(
    action(async (name: string, options: MetadataOptions) => {
      assertNoValueOption(options);
      const value = await readSecret(`value of ${name}: `);
      const created = await (await vaultClient()).credentials.create({ name, value, ...metadata(options) });
      if (options.json) return printJson(created);
      note(`added ${created.name} (${created.id}, version ${created.current_version})`);
    }),
  );

  withJson(
    creds
      .command("show")
      .description("a credential's metadata and versions (never its value)")
      .argument("<name>", "name or id"),
  ).action(
    action(async (name: string, options: JsonOption) => {
      const vault = await vaultClient();
      const [credential, versions] = await Promise.all([
        vault.credentials.get(name),
        vault.credentials.versions(name),
      ]).catch(aboutCredential(name));
      if (options.json) return printJson({ ...credential, versions: versions.items });
      showCredential(credential);
      printLine();
      printTable(
        ["version", "created", "by", "kek"],
        versions.items.map((v) => [v.version, when(v.created_at), v.created_by, v.kek_version]),
      );
    }),
  );

  withJson(
    metadataOptions(
      creds
        .command("update")
        .description("change description, tags or TTLs (not the value: see rotate)")
        .argument("<name>", "name or id"),
    ),
  ).action(
    action(async (name: string, options: MetadataOptions) => {
      const updated = await (await vaultClient()).credentials
        .update(name, metadata(options))
        .catch(aboutCredential(name));
      if (options.json) return printJson(updated);
      showCredential(updated);
    }),
  );

  withJson(
    refuseValueOption(
      creds
        .command("rotate")
        .description("store a new value as a new version; read from stdin or a hidden prompt")
        .argument("<name>", "name or id"),
    ),
  ).action(
    action(async (name: string, options: JsonOption & { value?: string }) => {
      assertNoValueOption(options);
      const value = await readSecret(`new value of ${name}: `);
      const rotated = await (await vaultClient()).credentials.rotate(name, value).catch(aboutCredential(name));
      if (options.json) return printJson(rotated);
      note(`rotated ${rotated.name}: now version ${rotated.current_version}`);
    }),
  );

  registerCredsImport(creds);

  withJson(
    creds.command("rm").description("delete a credential and every stored version").argument("<name>", "name or id"),
  ).action(
    action(async (name: string, options: JsonOption) => {
      await (await vaultClient()).credentials.delete(name).catch(aboutCredential(name));
      if (options.json) return printJson({ deleted: name });
      note(`deleted ${name}`);
    }),
  );
}
