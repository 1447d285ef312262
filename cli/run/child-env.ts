/**
 * The environment a command run with credentials starts from, before its leased values.
 *
 * `ghostvault run` is started by a person in their shell: the command gets that shell's
 * environment, less the vault login: `GHOSTVAULT_TOKEN`, and `GHOSTVAULT_PROFILE`, which names
 * the login file (the file stays readable to a same-user command; this only avoids pointing at it). The MCP server's commands are chosen by
 * a model: they get a freshly built environment with nothing of the server's but what a program
 * needs to run, so no login, editor secret or other variable of the server's reaches them.
 */

import type { EnvVars } from "../config";

/** The only server variables an MCP-started command sees. */
export const MINIMAL_ENV_NAMES = ["PATH", "HOME", "LANG", "LC_ALL", "TZ"] as const;

/** Variables that hold the vault login or name its file. */
const LOGIN_VARIABLES: ReadonlySet<string> = new Set(["GHOSTVAULT_TOKEN", "GHOSTVAULT_PROFILE"]);

/** `env` less the vault login: for a command a person starts with `ghostvault run`. */
export function inheritedEnv(env: EnvVars): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env))
    if (value !== undefined && !LOGIN_VARIABLES.has(name)) out[name] = value;
  return out;
}

/** Only {@link MINIMAL_ENV_NAMES} from `env`: for a command a model chose. */
export function minimalEnv(env: EnvVars): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of MINIMAL_ENV_NAMES) {
    const value = env[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}
