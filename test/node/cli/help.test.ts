import { execFileSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import path from "node:path";
import type { AddressInfo } from "node:net";
import type { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildProgram } from "../../../cli/program";
import { buildCli, cliEnv, runCli, type CliFixture } from "./helpers";

/**
 * Argument parsing and --help, without a server. The `oidc` and `webhooks` commands are tested
 * only here, not against a live vault: their routes were being built alongside them.
 */

let cli: CliFixture;
// Nothing listens on port 9: a command that reached the network would fail with network_error.
const offline = () => cliEnv(cli, { GHOSTVAULT_URL: "http://127.0.0.1:9", GHOSTVAULT_TOKEN: "gv_api_t_x" });

beforeAll(async () => {
  cli = await buildCli();
});
afterAll(() => cli?.cleanup());

function commandPaths(command: Command, prefix: string[] = []): string[][] {
  return command.commands.flatMap((c) => [[...prefix, c.name()], ...commandPaths(c, [...prefix, c.name()])]);
}

describe("--help", () => {
  it("every command and subcommand has a description and a usage line", () => {
    const program = buildProgram();
    const paths = commandPaths(program);
    expect(paths.length).toBeGreaterThan(35);
    for (const p of paths) {
      let command: Command = program;
      for (const name of p) command = command.commands.find((c) => c.name() === name)!;
      expect(command.description(), p.join(" ")).not.toBe("");
      expect(command.helpInformation(), p.join(" ")).toContain(`Usage: ghostvault ${p.join(" ")}`);
    }
  });

  it("--help exits 0 with the usage, for the program and a sample of commands (spawned)", async () => {
    const samples = [
      [],
      ["run"],
      ["creds", "add"],
      ["audit", "verify"],
      ["mcp"],
      ["oidc", "add"],
      ["webhooks", "add"],
      ["leases", "revoke-all"],
    ];
    for (const p of samples) {
      const r = await runCli(cli, [...p, "--help"], { env: offline() });
      expect(r.code, p.join(" ")).toBe(0);
      expect(r.stdout, p.join(" ")).toContain(`Usage: ghostvault ${p.join(" ")}`.trimEnd());
    }
  });
});

describe("argument parsing (offline)", () => {
  it("oidc add: needs its required options, at most one JWKS source, claim=glob conditions and a CI role", async () => {
    const base = [
      "oidc",
      "add",
      "--name",
      "gh",
      "--issuer",
      "https://token.actions.githubusercontent.com",
      "--audience",
      "vault",
      "--identity-template",
      "ci:github:{repository}@{ref}",
      "--credential",
      "ci/*",
    ];
    const missing = await runCli(cli, ["oidc", "add", "--name", "gh"], { env: offline() });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/required option '--issuer <url>' not specified/);
    const noCondition = await runCli(cli, base, { env: offline() });
    expect(noCondition.stderr).toMatch(/required option '--condition <claim=glob>' not specified/);
    const withCondition = [...base, "--condition", "repository_owner=acme"];
    const bothJwks = await runCli(cli, [...withCondition, "--jwks-uri", "https://x/jwks", "--jwks-file", "jwks.json"], {
      env: offline(),
    });
    expect(bothJwks.code).toBe(2);
    expect(bothJwks.stderr).toBe("error: give --jwks-uri or --jwks-file, not both\n");
    const badCondition = await runCli(cli, [...base, "--condition", "repository"], { env: offline() });
    expect(badCondition.code).toBe(2);
    expect(badCondition.stderr).toContain("--condition must be claim=glob");
    const badRole = await runCli(cli, [...withCondition, "--role", "admin"], { env: offline() });
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toBe("error: --role must be viewer or user\n");
    // Positive control: a complete command parses and goes on to the network (nothing listens there).
    const complete = await runCli(
      cli,
      [...withCondition, "--condition", "ref=refs/heads/main", "--role", "user", "--max-ttl", "15m"],
      { env: offline() },
    );
    expect(complete.code).toBe(1);
    expect(complete.stderr).toMatch(/^error: POST \/v1\/oidc\/trusts: .*\(network_error\)\n$/);
  });

  it("webhooks add/rm and oidc rm: required options and arguments; a complete command reaches for the network", async () => {
    const missing = await runCli(cli, ["webhooks", "add", "--name", "billing"], { env: offline() });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/required option '--credential <glob>' not specified/);
    const badTtl = await runCli(cli, ["webhooks", "add", "--name", "b", "--credential", "x/*", "--max-ttl", "soon"], {
      env: offline(),
    });
    expect(badTtl.code).toBe(2);
    expect(badTtl.stderr).toContain("not a duration: soon");
    const noId = await runCli(cli, ["webhooks", "rm"], { env: offline() });
    expect(noId.stderr).toMatch(/missing required argument 'id'/);
    const noTrust = await runCli(cli, ["oidc", "rm"], { env: offline() });
    expect(noTrust.stderr).toMatch(/missing required argument 'id'/);
    const complete = await runCli(
      cli,
      ["webhooks", "add", "--name", "b", "--credential", "x/*", "--credential", "y/*", "--max-ttl", "10m"],
      { env: offline() },
    );
    expect(complete.stderr).toMatch(/^error: POST \/v1\/webhooks: .*\(network_error\)\n$/);
    const list = await runCli(cli, ["oidc", "ls", "--json"], { env: offline() });
    // --json: the failure is JSON on stdout (issue 12 §4), with the same exit code.
    expect(list.code).toBe(1);
    expect(JSON.parse(list.stdout)).toMatchObject({
      error: { code: "network_error", message: expect.stringMatching(/^GET \/v1\/oidc\/trusts: /) },
    });
    const rm = await runCli(cli, ["webhooks", "rm", "b"], { env: offline() });
    expect(rm.stderr).toMatch(/^error: DELETE \/v1\/webhooks\/b: .*\(network_error\)\n$/);
  });

  it("run: needs --env VAR=credential and a command; not logged in is one clear error", async () => {
    const noEnv = await runCli(cli, ["run", "--", "true"], { env: offline() });
    expect(noEnv.code).toBe(2);
    expect(noEnv.stderr).toBe(
      "error: give at least one --env VAR=credential, or an --env-file with VAR=gv://credential lines\n",
    );
    const badEnv = await runCli(cli, ["run", "--env", "1X=openai", "--", "true"], { env: offline() });
    expect(badEnv.code).toBe(2);
    expect(badEnv.stderr).toContain("--env must be VAR=credential");
    const loggedOut = await runCli(cli, ["whoami"], { env: cliEnv(cli) });
    expect(loggedOut.code).toBe(1);
    expect(loggedOut.stderr).toBe(
      "error: not logged in: run `ghostvault login <url>` or set GHOSTVAULT_URL and GHOSTVAULT_TOKEN\n",
    );
  });
});

describe("usage errors (issue 12 §4)", () => {
  it("a bad option value, an unknown command or option: one line on stderr, exit 2, no stack", async () => {
    const cases: [string[], RegExp][] = [
      [
        ["tokens", "create", "--name", "x", "--role", "superuser", "--identity", "a"],
        /^error: option '--role <role>' argument 'superuser' is invalid\. expected one of viewer, user, manager, admin/,
      ],
      [["creds", "ls", "--limit", "abc"], /^error: option '--limit <n>' argument 'abc' is invalid/],
      [["audit", "tail", "-n", "0"], /^error: option '-n, --lines <n>' argument '0' is invalid/],
      [
        ["run", "--timeout", "5s", "--env", "A=b", "--", "true"],
        /^error: option '--timeout <seconds>' argument '5s' is invalid/,
      ],
      [["leases", "ls", "--state", "weird"], /^error: option '--state <state>' argument 'weird' is invalid/],
      [["lese"], /^error: unknown command 'lese' \(Did you mean lease\?\)/],
      [["creds", "ls", "--bogus"], /^error: unknown option '--bogus'/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(cli, args, { env: offline() });
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr, args.join(" ")).toMatch(message);
      expect(r.stderr.trimEnd().split("\n"), args.join(" ")).toHaveLength(1);
      expect(r.stderr, args.join(" ")).not.toMatch(/\n\s+at /);
      expect(r.stdout, args.join(" ")).toBe("");
    }
    // Positive control: the same commands with good values parse and reach for the network (exit 1).
    const good = await runCli(cli, ["creds", "ls", "--limit", "5"], { env: offline() });
    expect(good.code).toBe(1);
    expect(good.stderr).toMatch(/^error: GET \/v1\/credentials.*\(network_error\)\n$/);
  });

  it('under --json a usage error is {"error":{"code":"usage"}} on stdout with exit 2', async () => {
    const r = await runCli(cli, ["creds", "ls", "--json", "--limit", "abc"], { env: offline() });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toEqual({
      error: { code: "usage", message: expect.stringContaining("'--limit <n>' argument 'abc' is invalid") },
    });
    const fromAction = await runCli(cli, ["leases", "revoke-all", "--json"], { env: offline() });
    expect(fromAction.code).toBe(2);
    expect(JSON.parse(fromAction.stdout)).toEqual({
      error: { code: "usage", message: "give --credential, --identity or --all" },
    });
  });

  it("an unreachable server is named with its host:port and cause", async () => {
    // A port nothing listens on (port 9 would be refused by fetch itself as a "bad port").
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo;
        server.close(() => resolve(port));
      });
    });
    const r = await runCli(cli, ["whoami"], {
      env: cliEnv(cli, { GHOSTVAULT_URL: `http://127.0.0.1:${port}`, GHOSTVAULT_TOKEN: "gv_api_t_x" }),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `error: GET /v1/whoami: cannot reach the vault: ECONNREFUSED 127.0.0.1:${port} (network_error)\n`,
    );
  });

  it("login without a token and without a terminal hints --token-stdin; mcp without a login says why", async () => {
    const login = await runCli(cli, ["login", "127.0.0.1:8792"], { env: cliEnv(cli) });
    expect(login.code).toBe(2);
    expect(login.stderr).toBe(
      "error: no token: pipe it with --token-stdin, set GHOSTVAULT_TOKEN, or run login in a terminal to be prompted\n",
    );
    const mcp = await runCli(cli, ["mcp"], { env: cliEnv(cli) });
    expect(mcp.code).toBe(1);
    expect(mcp.stderr).toMatch(
      /^error: the MCP server cannot start: not logged in: run `ghostvault login <url>`.*--profile NAME.*"args"\n$/,
    );
    expect(mcp.stdout).toBe("");
  });
});

describe("shell completion (issue 12 §4)", () => {
  /** What bash offers after `words` (the last one being completed), using the generated script. */
  async function bashComplete(script: string, words: string[]): Promise<string[]> {
    const file = path.join(cli.home, `completion-${words.length}-${Date.now()}.bash`);
    await writeFile(file, script);
    const out = execFileSync(
      "bash",
      [
        "-c",
        `source "$0"; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _ghostvault; printf '%s\\n' "\${COMPREPLY[@]}"`,
        file,
        "ghostvault",
        ...words,
      ],
      { encoding: "utf8" },
    );
    return out.split("\n").filter(Boolean);
  }

  it("bash completes commands, subcommands and flags from the command tree, and nothing after --", async () => {
    const r = await runCli(cli, ["completion", "bash"], { env: offline() });
    expect(r.code).toBe(0);
    expect(await bashComplete(r.stdout, [""])).toEqual(
      expect.arrayContaining(["login", "creds", "leases", "run", "audit", "completion", "--profile"]),
    );
    expect(await bashComplete(r.stdout, ["creds", ""])).toEqual([
      "ls",
      "add",
      "show",
      "update",
      "rotate",
      "import",
      "rm",
      "-h",
      "--help",
    ]);
    expect(await bashComplete(r.stdout, ["leases", "ls", "--"])).toEqual([
      "--state",
      "--credential",
      "--identity",
      "--limit",
      "--json",
      "--help",
    ]);
    expect(await bashComplete(r.stdout, ["run", "--env-f"])).toEqual(["--env-file"]);
    expect(await bashComplete(r.stdout, ["run", "--", "cr"])).toEqual([]);
  });

  it("zsh and fish scripts cover the same tree; an unknown shell is a usage error", async () => {
    const zsh = await runCli(cli, ["completion", "zsh"], { env: offline() });
    expect(zsh.stdout).toContain("bashcompinit");
    expect(zsh.stdout).toContain("complete -o default -F _ghostvault ghostvault");
    const fish = await runCli(cli, ["completion", "fish"], { env: offline() });
    expect(fish.stdout).toContain(
      "complete -c ghostvault -n '__fish_seen_subcommand_from leases; and __fish_seen_subcommand_from revoke-all' -l credential -r",
    );
    const bad = await runCli(cli, ["completion", "tcsh"], { env: offline() });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(
      /^error: command-argument value 'tcsh' is invalid for argument 'shell'\. Allowed choices are bash, zsh, fish\./,
    );
  });
});
