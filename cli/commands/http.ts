import { readFile } from "node:fs/promises";
import { hostname } from "node:os";
import type { Command } from "commander";
import { base64ToBytes } from "../../worker/core/crypto/encoding";
import { action, collect, CliError, vaultClient, withJson, type JsonOption } from "../context";
import { aboutCredential } from "../errors";
import { readAll } from "../input";
import { note, printJson, printLine, printUpstreamBytes } from "../output";

/** `-H 'Name: value'` into a name and value; refuses anything else. */
function header(line: string): [string, string] {
  const at = line.indexOf(":");
  if (at <= 0) throw new CliError(`-H ${JSON.stringify(line)}: expected "Name: value"`);
  return [line.slice(0, at).trim(), line.slice(at + 1).trim()];
}

/** curl's `-d`: text, `@file`, or `@-` for standard input. */
async function data(arg: string | undefined): Promise<string | undefined> {
  if (arg === undefined) return undefined;
  if (arg === "@-") return readAll();
  if (arg.startsWith("@")) return readFile(arg.slice(1), "utf8");
  return arg;
}

interface HttpOptions extends JsonOption {
  header: string[];
  data?: string;
  include?: boolean;
  purpose?: string;
}

/**
 * `http CREDENTIAL METHOD URL [-H …] [-d …]`: a curl-like call through the vault, which injects the
 * credential as its use policy says and scrubs it from the answer. The body goes to stdout; status
 * and whether anything was scrubbed to stderr.
 */
export function registerHttp(program: Command): void {
  withJson(
    program
      .command("http")
      .description(
        "call an HTTP API with a credential, without holding it: the vault injects the value and scrubs it from the answer",
      )
      .argument("<credential>", "credential name or id (it needs a use policy)")
      .argument("<method>", "GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS")
      .argument("<url>", "the upstream URL; must be allowed by the credential's use policy")
      .option("-H, --header <line>", "request header 'Name: value' (repeatable)", collect, [])
      .option("-d, --data <data>", "request body: text, @file, or @- for standard input")
      .option("-i, --include", "print the status line and response headers before the body")
      .option("--purpose <text>", "why, for the audit log"),
  ).action(
    action(async (credential: string, method: string, url: string, options: HttpOptions) => {
      const vault = await vaultClient();
      const headers = Object.fromEntries(options.header.map(header));
      const body = await data(options.data);
      const use = vault.use(credential, {
        purpose: options.purpose,
        agent: { name: "ghostvault-cli", host: hostname().slice(0, 256) },
      });
      const answer = await use
        .call(url, { method: method.toUpperCase(), headers, body })
        .catch(aboutCredential(credential));
      if (options.json) return printJson(answer);
      const bytes = base64ToBytes(answer.body_base64);
      note(
        `${answer.status} in ${answer.upstream_ms} ms${answer.scrubbed ? "; the credential was scrubbed from the answer" : ""}`,
      );
      if (options.include) {
        printLine(`HTTP ${answer.status}`);
        for (const [k, v] of Object.entries(answer.headers)) printLine(`${k}: ${v}`);
        printLine();
      }
      printUpstreamBytes(bytes);
    }),
  );
}
