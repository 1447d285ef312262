import type { Command } from "commander";
import { VaultClient } from "../../sdk/index";
import { configPath, resolveLogin, writeConfig } from "../config";
import { action, CliError, vaultClient, withJson, type JsonOption } from "../context";
import { promptHidden, readAll, stripFinalNewline } from "../input";
import { note, printFields, printJson, when } from "../output";

interface LoginOptions extends JsonOption {
  tokenStdin?: boolean;
}

/** The token for `login`: stdin with --token-stdin, else GHOSTVAULT_TOKEN, else a hidden prompt. */
async function loginToken(options: LoginOptions): Promise<string> {
  if (options.tokenStdin) return stripFinalNewline(await readAll()).trim();
  if (process.env.GHOSTVAULT_TOKEN) return process.env.GHOSTVAULT_TOKEN;
  if (!process.stdin.isTTY)
    throw new CliError(
      "no token: pipe it with --token-stdin, set GHOSTVAULT_TOKEN, or run login in a terminal to be prompted",
      2,
    );
  return (await promptHidden("API token: ")).trim();
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

/**
 * The vault URL of `login`'s argument: a full http(s) URL as given, or `host[:port]`, which
 * means http on loopback (127.0.0.1, localhost, [::1]: what `npm run dev` serves) and https
 * everywhere else. @throws CliError (usage) naming what was given.
 */
export function vaultUrl(input: string): string {
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(input);
  let url: URL;
  try {
    url = new URL(hasScheme ? input : `http://${input}`);
  } catch {
    throw new CliError(`not a vault URL: ${input} (give https://host, or host:port)`, 2);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new CliError(`not a vault URL: ${input} (only http and https)`, 2);
  if (hasScheme) return input;
  const scheme = LOOPBACK.has(url.hostname) ? "http" : "https";
  return `${scheme}://${input.replace(/\/+$/, "")}`;
}

/** `login` and `whoami`. */
export function registerAuth(program: Command): void {
  withJson(
    program
      .command("login")
      .description("check a vault URL and API token, then store them (mode 0600) in the config dir")
      .argument(
        "[url]",
        "vault URL, e.g. https://vault.example.com, or host:port (http on 127.0.0.1/localhost/[::1], else https); default $GHOSTVAULT_URL",
      )
      .option("--token-stdin", "read the token from stdin (else $GHOSTVAULT_TOKEN, else a hidden prompt)"),
  ).action(
    action(async (urlArg: string | undefined, options: LoginOptions) => {
      const given = urlArg ?? process.env.GHOSTVAULT_URL;
      if (!given) throw new CliError("give the vault URL: ghostvault login <url>", 2);
      const url = vaultUrl(given);
      const token = await loginToken(options);
      if (!token) throw new CliError("empty token", 2);
      // Checked before it is stored: a mistyped token should not become the saved login.
      const who = await new VaultClient({ url, token }).whoami();
      const file = await writeConfig({ url, token });
      if (options.json) printJson({ url, file, whoami: who });
      else note(`logged in to ${url} as ${who.identity} (${who.role}); saved to ${file}`);
    }),
  );

  withJson(program.command("whoami").description("show the tenant, identity and role of the token in use")).action(
    action(async (options: JsonOption) => {
      const login = await resolveLogin();
      const who = await (await vaultClient()).whoami();
      if (options.json) return printJson({ ...who, url: login.url, source: login.source });
      printFields([
        ["url", login.url],
        ["tenant", who.tenant_id],
        ["identity", who.identity],
        ["role", who.role],
        ["token", `${who.token_id} (${who.kind})`],
        ["expires", when(who.expires_at)],
        [
          "login from",
          login.source === "config"
            ? configPath()
            : login.source === "env"
              ? "environment"
              : `environment and ${configPath()}`,
        ],
      ]);
    }),
  );
}
