/**
 * Where the CLI keeps its login: `$XDG_CONFIG_HOME/ghostvault/config.json`, else
 * `~/.config/ghostvault/config.json`; the file mode 0600 and its directory 0700, since it holds
 * an API token. `GHOSTVAULT_URL` and `GHOSTVAULT_TOKEN` override what is stored.
 *
 * Profiles, for several vaults: `--profile NAME` or `GHOSTVAULT_PROFILE=NAME` use
 * `profiles/NAME.json` beside it instead (same format, same modes).
 */

import { chmod, mkdir, open, readFile, rename } from "node:fs/promises";
import { homedir } from "node:os";
import path from "node:path";
import { z } from "zod";

/**
 * Environment variables as the CLI reads them. Not NodeJS.ProcessEnv: the Worker's generated
 * bindings type (worker-configuration.d.ts) widens that with required Worker variables.
 */
export type EnvVars = Readonly<Record<string, string | undefined>>;

/** What `ghostvault login` stores. */
export const StoredConfigSchema = z.object({ url: z.url(), token: z.string().min(1) });

/** A stored login. */
export type StoredConfig = z.output<typeof StoredConfigSchema>;

/** The config directory for `env` (XDG base directory spec: an empty or relative value is ignored). */
export function configDir(env: EnvVars = process.env): string {
  const xdg = env.XDG_CONFIG_HOME;
  const base = xdg !== undefined && path.isAbsolute(xdg) ? xdg : path.join(env.HOME ?? homedir(), ".config");
  return path.join(base, "ghostvault");
}

/** What a profile may be called: it becomes a file name, so no dots, slashes or spaces. */
export const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;

/**
 * The profile in use (`GHOSTVAULT_PROFILE`; `--profile` sets it), or undefined for the default.
 * @throws Error for a name that is not a plain file name.
 */
export function profileName(env: EnvVars = process.env): string | undefined {
  const name = env.GHOSTVAULT_PROFILE;
  if (name === undefined || name === "") return undefined;
  if (!PROFILE_NAME.test(name))
    throw new Error("GHOSTVAULT_PROFILE must be 1-63 of A-Z a-z 0-9 _ - (starting with a letter or digit)");
  return name;
}

/** The config file path for `env`: the default login, or the profile's. */
export function configPath(env: EnvVars = process.env): string {
  const profile = profileName(env);
  return profile === undefined
    ? path.join(configDir(env), "config.json")
    : path.join(configDir(env), "profiles", `${profile}.json`);
}

/**
 * Where `ghostvault operator login` keeps the operator login: a file of its own beside the tenant
 * logins, never mixed with them, so an operator token is never sent to tenant routes by mistake.
 */
export function operatorConfigPath(env: EnvVars = process.env): string {
  return path.join(configDir(env), "operator.json");
}

/** The stored login, or undefined when there is none. A file that exists but is not a login is an error. */
export async function readConfig(
  env: EnvVars = process.env,
  file = configPath(env),
): Promise<StoredConfig | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${file} is not valid JSON; run \`ghostvault login\` again`);
  }
  const parsed = StoredConfigSchema.safeParse(json);
  if (!parsed.success) throw new Error(`${file} is not a ghostvault login; run \`ghostvault login\` again`);
  return parsed.data;
}

/**
 * Stores a login. The file is written under a temporary name created with mode 0600 and renamed
 * into place, so the token is never readable by others, not even for a moment, and a crash
 * leaves the old file intact. chmod afterwards because the umask may have narrowed `mkdir`.
 */
export async function writeConfig(
  config: StoredConfig,
  env: EnvVars = process.env,
  file = configPath(env),
): Promise<string> {
  for (const dir of new Set([configDir(env), path.dirname(file)])) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
  }
  const temp = `${file}.${process.pid}.tmp`;
  const handle = await open(temp, "w", 0o600);
  try {
    await handle.writeFile(JSON.stringify(config, null, 2) + "\n");
    await handle.chmod(0o600);
  } finally {
    await handle.close();
  }
  await rename(temp, file);
  return file;
}

/** Where the URL and token in use come from, for `whoami` and error messages. */
export interface ResolvedLogin {
  url: string;
  token: string;
  source: "env" | "config" | "mixed";
}

/**
 * The URL and token to use: `GHOSTVAULT_URL`/`GHOSTVAULT_TOKEN` first, then the stored login.
 * @throws Error naming what is missing.
 */
export async function resolveLogin(env: EnvVars = process.env): Promise<ResolvedLogin> {
  const envUrl = env.GHOSTVAULT_URL || undefined;
  const envToken = env.GHOSTVAULT_TOKEN || undefined;
  const stored = envUrl && envToken ? undefined : await readConfig(env);
  const url = envUrl ?? stored?.url;
  const token = envToken ?? stored?.token;
  if (url === undefined || token === undefined) {
    const profile = profileName(env);
    if (profile !== undefined)
      throw new Error(`not logged in with profile "${profile}": run \`ghostvault --profile ${profile} login <url>\``);
    throw new Error("not logged in: run `ghostvault login <url>` or set GHOSTVAULT_URL and GHOSTVAULT_TOKEN");
  }
  const source = envUrl && envToken ? "env" : !envUrl && !envToken ? "config" : "mixed";
  return { url, token, source };
}
