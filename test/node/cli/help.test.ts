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
    const samples = [[], ["run"], ["creds", "add"], ["audit", "verify"], ["mcp"], ["oidc", "add"], ["webhooks", "add"], ["leases", "revoke-all"]];
    for (const p of samples) {
      const r = await runCli(cli, [...p, "--help"], { env: offline() });
      expect(r.code, p.join(" ")).toBe(0);
      expect(r.stdout, p.join(" ")).toContain(`Usage: ghostvault ${p.join(" ")}`.trimEnd());
    }
  });
});

describe("argument parsing (offline)", () => {
  it("oidc add: needs its required options, at most one JWKS source, claim=glob conditions and a CI role", async () => {
    const base = ["oidc", "add", "--name", "gh", "--issuer", "https://token.actions.githubusercontent.com", "--audience", "vault", "--identity-template", "ci:github:{repository}@{ref}", "--credential", "ci/*"];
    const missing = await runCli(cli, ["oidc", "add", "--name", "gh"], { env: offline() });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/required option '--issuer <url>' not specified/);
    const noCondition = await runCli(cli, base, { env: offline() });
    expect(noCondition.stderr).toMatch(/required option '--condition <claim=glob>' not specified/);
    const withCondition = [...base, "--condition", "repository_owner=acme"];
    const bothJwks = await runCli(cli, [...withCondition, "--jwks-uri", "https://x/jwks", "--jwks-file", "jwks.json"], { env: offline() });
    expect(bothJwks.code).toBe(2);
    expect(bothJwks.stderr).toBe("error: give --jwks-uri or --jwks-file, not both\n");
    const badCondition = await runCli(cli, [...base, "--condition", "repository"], { env: offline() });
    expect(badCondition.code).toBe(2);
    expect(badCondition.stderr).toContain("--condition must be claim=glob");
    const badRole = await runCli(cli, [...withCondition, "--role", "admin"], { env: offline() });
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toBe("error: --role must be viewer or user\n");
    // Positive control: a complete command parses and goes on to the network (nothing listens there).
    const complete = await runCli(cli, [...withCondition, "--condition", "ref=refs/heads/main", "--role", "user", "--max-ttl", "15m"], { env: offline() });
    expect(complete.code).toBe(1);
    expect(complete.stderr).toMatch(/^error: POST \/v1\/oidc\/trusts: .*\(network_error\)\n$/);
  });

  it("webhooks add/rm and oidc rm: required options and arguments; a complete command reaches for the network", async () => {
    const missing = await runCli(cli, ["webhooks", "add", "--name", "billing"], { env: offline() });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/required option '--credential <glob>' not specified/);
    const badTtl = await runCli(cli, ["webhooks", "add", "--name", "b", "--credential", "x/*", "--max-ttl", "soon"], { env: offline() });
    expect(badTtl.code).toBe(2);
    expect(badTtl.stderr).toContain("not a duration: soon");
    const noId = await runCli(cli, ["webhooks", "rm"], { env: offline() });
    expect(noId.stderr).toMatch(/missing required argument 'id'/);
    const noTrust = await runCli(cli, ["oidc", "rm"], { env: offline() });
    expect(noTrust.stderr).toMatch(/missing required argument 'id'/);
    const complete = await runCli(cli, ["webhooks", "add", "--name", "b", "--credential", "x/*", "--credential", "y/*", "--max-ttl", "10m"], { env: offline() });
    expect(complete.stderr).toMatch(/^error: POST \/v1\/webhooks: .*\(network_error\)\n$/);
    const list = await runCli(cli, ["oidc", "ls", "--json"], { env: offline() });
    expect(list.stderr).toMatch(/^error: GET \/v1\/oidc\/trusts: .*\(network_error\)\n$/);
    const rm = await runCli(cli, ["webhooks", "rm", "b"], { env: offline() });
    expect(rm.stderr).toMatch(/^error: DELETE \/v1\/webhooks\/b: .*\(network_error\)\n$/);
  });

  it("run: needs --env VAR=credential and a command; not logged in is one clear error", async () => {
    const noEnv = await runCli(cli, ["run", "--", "true"], { env: offline() });
    expect(noEnv.code).toBe(2);
    expect(noEnv.stderr).toBe("error: give at least one --env VAR=credential\n");
    const badEnv = await runCli(cli, ["run", "--env", "1X=openai", "--", "true"], { env: offline() });
    expect(badEnv.code).toBe(2);
    expect(badEnv.stderr).toContain("--env must be VAR=credential");
    const loggedOut = await runCli(cli, ["whoami"], { env: cliEnv(cli) });
    expect(loggedOut.code).toBe(1);
    expect(loggedOut.stderr).toBe("error: not logged in: run `ghostvault login <url>` or set GHOSTVAULT_URL and GHOSTVAULT_TOKEN\n");
  });
});
