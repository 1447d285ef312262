import { execFile } from "node:child_process";
import { generateKeyPairSync, randomUUID, sign } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VaultClient } from "../../../sdk/index";
import { asProcessEnv, buildCli, type CliFixture } from "../cli/helpers";
import { ROOT, startLocalVault, type LocalVault } from "../support/vault";

/**
 * The GitHub Action (action.yml) run as the runner runs it: `node action/dist/main.mjs`, then
 * `post.mjs`, with INPUT_* variables, empty GITHUB_ENV/GITHUB_OUTPUT/GITHUB_STATE files and an
 * `ACTIONS_ID_TOKEN_REQUEST_URL` served by a local HTTP server that signs ID tokens with a test
 * key. The vault trusts that key through a trust policy with a pinned JWKS, created over the API.
 * Tokens are fresh and short-lived: the vault refuses a replayed token and long-lived ones.
 */

const run = promisify(execFile);
const ISSUER = "https://token.actions.githubusercontent.com";
const AUDIENCE = "https://vault.actions.test";
const REQUEST_TOKEN = `runner-${randomUUID()}`;
const keys = generateKeyPairSync("rsa", { modulusLength: 2048 });
const KID = `test-${randomUUID().slice(0, 8)}`;

let vault: LocalVault;
let admin: VaultClient;
let tokenServer: Server;
let tokenUrl: string;
let workdir: string;
let cli: CliFixture;
const issued: string[] = [];

const b64url = (data: string | Buffer) => Buffer.from(data).toString("base64url");

/** A GitHub-shaped ID token for acme/api on main, valid 5 minutes, single-use jti. */
function idToken(audience: string): string {
  const now = Math.floor(Date.now() / 1000);
  const header = b64url(JSON.stringify({ alg: "RS256", typ: "JWT", kid: KID }));
  const claims = b64url(
    JSON.stringify({
      iss: ISSUER,
      aud: audience,
      sub: "repo:acme/api:ref:refs/heads/main",
      repository: "acme/api",
      repository_owner: "acme",
      ref: "refs/heads/main",
      jti: randomUUID(),
      iat: now,
      nbf: now - 5,
      exp: now + 300,
    }),
  );
  const signature = sign("sha256", Buffer.from(`${header}.${claims}`), keys.privateKey);
  return `${header}.${claims}.${b64url(signature)}`;
}

/** The runner's token endpoint: checks the request token, issues a token for the asked audience. */
function startTokenServer(): Promise<void> {
  tokenServer = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    // The auth scheme is case-insensitive (RFC 9110); the README example sends `bearer`.
    if (
      req.headers.authorization?.replace(/^bearer /i, "Bearer ") !== `Bearer ${REQUEST_TOKEN}` ||
      url.searchParams.get("api-version") !== "2.0" ||
      !url.searchParams.get("audience")
    ) {
      res.writeHead(401).end();
      return;
    }
    const token = idToken(url.searchParams.get("audience")!);
    issued.push(token);
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ value: token }));
  });
  return new Promise((resolve) =>
    tokenServer.listen(0, "127.0.0.1", () => {
      tokenUrl = `http://127.0.0.1:${(tokenServer.address() as AddressInfo).port}/token?api-version=2.0`;
      resolve();
    }),
  );
}

beforeAll(async () => {
  workdir = await mkdtemp(path.join(tmpdir(), "ghostvault-action-"));
  [vault, cli] = await Promise.all([startLocalVault(), buildCli(), startTokenServer()]);
  admin = new VaultClient({ url: vault.url, token: vault.adminToken });
  await admin.oidc.create({
    name: "github-acme",
    issuer: ISSUER,
    audience: AUDIENCE,
    jwks: { keys: [{ ...keys.publicKey.export({ format: "jwk" }), kid: KID, alg: "RS256", use: "sig" }] },
    conditions: { repository_owner: "acme", ref: "refs/heads/main" },
    identity_template: "ci:github:{repository}@{ref}",
    credentials: ["deploy/*"],
    max_ttl: "15m",
    max_token_lifetime: "10m",
  });
  await admin.credentials.create({
    name: "deploy/aws-key",
    value: "AKIA-action-canary",
    default_ttl: "5m",
    max_ttl: "1h",
  });
  await admin.credentials.create({
    name: "deploy/multi",
    value: "line-one-canary\nline-two-canary",
    default_ttl: "5m",
    max_ttl: "1h",
  });
  await admin.credentials.create({ name: "prod/db", value: "db-action-canary", default_ttl: "5m", max_ttl: "1h" });
}, 180_000);
afterAll(async () => {
  await vault?.stop();
  await cli?.cleanup();
  await new Promise((resolve) => tokenServer?.close(resolve));
  if (workdir) await rm(workdir, { recursive: true, force: true });
});

interface Step {
  code: number;
  stdout: string;
  files: { env: string; output: string; state: string };
}

/** One job: fresh runner files; returns a function that runs a step of the Action in it. */
async function job(inputs: Record<string, string>) {
  const dir = await mkdtemp(path.join(workdir, "job-"));
  const files = { env: path.join(dir, "env"), output: path.join(dir, "output"), state: path.join(dir, "state") };
  for (const f of Object.values(files)) await writeFile(f, "");
  return async (step: "main" | "post", extra: Record<string, string> = {}): Promise<Step> => {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "",
      GITHUB_ENV: files.env,
      GITHUB_OUTPUT: files.output,
      GITHUB_STATE: files.state,
      GITHUB_REPOSITORY: "acme/api",
      GITHUB_RUN_ID: "42",
      ACTIONS_ID_TOKEN_REQUEST_URL: tokenUrl,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: REQUEST_TOKEN,
      ...Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v])),
      ...extra,
    };
    const result = await run(process.execPath, [path.join(ROOT, "action", "dist", `${step}.mjs`)], {
      env: asProcessEnv(env),
      cwd: dir,
    }).then(
      (r) => ({ code: 0, stdout: r.stdout }),
      (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
    );
    const read = async (f: string) => readFile(f, "utf8");
    return {
      ...result,
      files: { env: await read(files.env), output: await read(files.output), state: await read(files.state) },
    };
  };
}

/** Parses `name<<delim`/value/`delim` entries, checking the delimiter form. */
function entries(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split("\n");
  for (let i = 0; i < lines.length - 1; ) {
    const m = /^([^<]+)<<(ghadelimiter_[0-9a-f-]{36})$/.exec(lines[i]!);
    if (!m) throw new Error(`not a heredoc entry: ${lines[i]}`);
    const end = lines.indexOf(m[2]!, i + 1);
    out[m[1]!] = lines.slice(i + 1, end).join("\n");
    i = end + 1;
  }
  return out;
}

/** STATE_<name> variables as the runner sets them for the post step. */
const stateVars = (state: string) =>
  Object.fromEntries(Object.entries(entries(state)).map(([k, v]) => [`STATE_${k}`, v]));

const BASE_INPUTS = () => ({ "vault-url": vault.url, tenant: vault.tenantId, audience: AUDIENCE });

describe("GitHub Action (simulated runner)", () => {
  it("main leases, masks every value (each line too) before anything else, exports env + outputs, saves state; post revokes every lease", async () => {
    const step = await job({
      ...BASE_INPUTS(),
      credentials: "AWS_SECRET_ACCESS_KEY=deploy/aws-key\n# comment\n\nCERT=deploy/multi",
      ttl: "5m",
    });
    const main = await step("main");
    expect(main.code, main.stdout).toBe(0);
    const env = entries(main.files.env);
    expect(env).toEqual({ AWS_SECRET_ACCESS_KEY: "AKIA-action-canary", CERT: "line-one-canary\nline-two-canary" });
    const outputs = entries(main.files.output);
    expect(outputs).toMatchObject({
      AWS_SECRET_ACCESS_KEY: "AKIA-action-canary",
      identity: "ci:github:acme/api@refs/heads/main",
    });
    // Masks: the ID token and each value and line, all before any other output line.
    const lines = main.stdout.trim().split("\n");
    const firstOther = lines.findIndex((l) => !l.startsWith("::add-mask::"));
    const masks = lines.slice(0, firstOther);
    for (const secret of [
      issued.at(-1)!,
      "AKIA-action-canary",
      "line-one-canary",
      "line-two-canary",
      "line-one-canary%0Aline-two-canary",
    ]) {
      expect(masks).toContain(`::add-mask::${secret}`);
    }
    for (const l of lines.slice(firstOther)) expect(l).not.toMatch(/canary|eyJ/);

    const ids = outputs["lease-ids"]!.split(",");
    expect(ids).toHaveLength(2);
    for (const id of ids) expect((await admin.leases.get(id)).state).toBe("active");

    // A later step failed; the post step still runs (post-if defaults to always()) and revokes.
    const post = await step("post", stateVars(main.files.state));
    expect(post.code, post.stdout).toBe(0);
    for (const id of ids) expect((await admin.leases.get(id)).state).toBe("revoked");
    expect(post.stdout).not.toMatch(/canary/);
  });

  it.each([
    ["a credential the trust policy does not name", "OK=deploy/aws-key\nDB=prod/db", /vault answered 403: .*prod\/db/],
    ["a credential that does not exist", "OK=deploy/aws-key\nX=deploy/none-such", /vault answered 404/],
    ["a malformed line", "AWS_KEY deploy/aws-key", /credentials line 1: expected VAR=credential/],
  ])(
    "fails the step with one ::error:: line and writes no value for %s; post then has nothing to revoke",
    async (_what, credentials, reason) => {
      const step = await job({ ...BASE_INPUTS(), credentials });
      const main = await step("main");
      expect(main.code).toBe(1);
      const errors = main.stdout.split("\n").filter((l) => l.startsWith("::error::"));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(reason);
      expect(main.stdout).not.toMatch(/canary/);
      expect(main.files).toEqual({ env: "", output: "", state: "" });
      const post = await step("post", stateVars(main.files.state));
      expect(post.code).toBe(0);
      expect(post.stdout).toContain("No leases to revoke.");
    },
  );

  it("fails with one line when the job may not request an OIDC token (no id-token: write)", async () => {
    const step = await job({ ...BASE_INPUTS(), credentials: "A=deploy/aws-key" });
    const main = await step("main", { ACTIONS_ID_TOKEN_REQUEST_URL: "", ACTIONS_ID_TOKEN_REQUEST_TOKEN: "" });
    expect(main.code).toBe(1);
    expect(main.stdout.trim()).toBe("::error::no OIDC token available: give the job `permissions: id-token: write`");
  });

  it("action/dist is the build of action/src (the runner runs the committed bundle)", async () => {
    const out = await mkdtemp(path.join(workdir, "build-"));
    await run(process.execPath, [path.join(ROOT, "action", "build.mjs"), out]);
    for (const f of ["main.mjs", "post.mjs"]) {
      expect(await readFile(path.join(out, f), "utf8"), `${f}: run node action/build.mjs`).toBe(
        await readFile(path.join(ROOT, "action", "dist", f), "utf8"),
      );
    }
    const manifest = await readFile(path.join(ROOT, "action.yml"), "utf8");
    expect(manifest).toMatch(/main: action\/dist\/main\.mjs/);
    expect(manifest).toMatch(/post: action\/dist\/post\.mjs/);
  });
});

describe("ghostvault ci lease / ci revoke", () => {
  /** Runs the bundled CLI as a CI job would: no login, only the job's variables. */
  async function ghostvault(
    args: string[],
    extra: Record<string, string>,
  ): Promise<{ code: number; stdout: string; stderr: string }> {
    const env = {
      PATH: process.env.PATH ?? "",
      HOME: cli.home,
      NO_COLOR: "1",
      GHOSTVAULT_URL: vault.url,
      GHOSTVAULT_TENANT: vault.tenantId,
      ...extra,
    };
    return run(process.execPath, [cli.bin, ...args], { env: asProcessEnv(env), cwd: workdir }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );
  }
  /** The `export VAR='value'` lines, evaluated by a real shell. */
  async function evaluated(exports: string, names: string[]): Promise<string[]> {
    const script = `${exports}\n${names.map((n) => `printf '%s\\0' "$${n}"`).join("\n")}`;
    return (await run("sh", ["-c", script])).stdout.split("\0").slice(0, -1);
  }

  it("--provider github: token from the runner, exports for eval (a multi-line value intact), ids saved; ci revoke --from revokes them", async () => {
    const runner = { ACTIONS_ID_TOKEN_REQUEST_URL: tokenUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: REQUEST_TOKEN };
    const ids = path.join(workdir, "github-ids");
    const leased = await ghostvault(
      [
        "ci",
        "lease",
        "--provider",
        "github",
        "--audience",
        AUDIENCE,
        "-e",
        "KEY=deploy/aws-key",
        "-e",
        "CERT=deploy/multi",
        "--save-ids",
        ids,
      ],
      runner,
    );
    expect(leased.code, leased.stderr).toBe(0);
    expect(await evaluated(leased.stdout, ["KEY", "CERT"])).toEqual([
      "AKIA-action-canary",
      "line-one-canary\nline-two-canary",
    ]);
    const saved = (await readFile(ids, "utf8")).trim().split("\n");
    expect(saved).toHaveLength(2);
    for (const id of saved) expect((await admin.leases.get(id)).state).toBe("active");
    const revoked = await ghostvault(
      ["ci", "revoke", "--provider", "github", "--audience", AUDIENCE, "--from", ids],
      runner,
    );
    expect(revoked.code, revoked.stderr).toBe(0);
    for (const id of saved) expect((await admin.leases.get(id)).state).toBe("revoked");
  });

  it("--provider gitlab: tokens from id_tokens variables; revoke with the lease token is refused (replayed), with the second token it works", async () => {
    const first = idToken(AUDIENCE);
    const leased = await ghostvault(["ci", "lease", "--provider", "gitlab", "-e", "KEY=deploy/aws-key", "--json"], {
      VAULT_ID_TOKEN: first,
    });
    expect(leased.code, leased.stderr).toBe(0);
    const granted = JSON.parse(leased.stdout) as {
      identity: string;
      env: Record<string, string>;
      leases: { lease: { id: string } }[];
    };
    expect(granted).toMatchObject({
      identity: "ci:github:acme/api@refs/heads/main",
      env: { KEY: "AKIA-action-canary" },
    });
    const id = granted.leases[0]!.lease.id;
    const replayed = await ghostvault(["ci", "revoke", "--provider", "gitlab", "--token-var", "VAULT_ID_TOKEN", id], {
      VAULT_ID_TOKEN: first,
    });
    expect(replayed.code).toBe(1);
    expect(replayed.stderr).toMatch(/^error: CI request refused.*\(unauthorized/);
    expect((await admin.leases.get(id)).state).toBe("active");
    const revoked = await ghostvault(["ci", "revoke", "--provider", "gitlab"], {
      VAULT_REVOKE_ID_TOKEN: idToken(AUDIENCE),
      GHOSTVAULT_LEASE_IDS: id,
    });
    expect(revoked.code, revoked.stderr).toBe(0);
    expect((await admin.leases.get(id)).state).toBe("revoked");
  });

  it("fails with one line naming the missing variable or option, and prints no export", async () => {
    const missing = await ghostvault(["ci", "lease", "--provider", "gitlab", "-e", "KEY=deploy/aws-key"], {});
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe(
      "error: $VAULT_ID_TOKEN is empty: declare it under id_tokens: in the job (or name another with --token-var)",
    );
    expect(missing.stdout).toBe("");
    const noProvider = await ghostvault(["ci", "lease", "-e", "KEY=deploy/aws-key"], {
      VAULT_ID_TOKEN: idToken(AUDIENCE),
    });
    expect(noProvider.code).toBe(2);
    expect(noProvider.stdout).toBe("");
  });
});

/**
 * A shell example of the README, found by its marker comment (`# readme:<name>`): the lines from
 * the marker on, as long as they are indented at least as far (a `run: |` script inside YAML) and
 * before the closing fence; dedented.
 */
async function readmeScript(name: string): Promise<string> {
  const lines = (await readFile(path.join(ROOT, "README.md"), "utf8")).split("\n");
  const start = lines.findIndex((l) => l.trim() === `# readme:${name}` || l.trim().startsWith(`# readme:${name} `));
  if (start < 0) throw new Error(`README has no "# readme:${name}" example`);
  const indent = lines[start]!.length - lines[start]!.trimStart().length;
  const body: string[] = [];
  for (const line of lines.slice(start)) {
    if (line.trim().startsWith("```") || (line.trim() !== "" && line.length - line.trimStart().length < indent)) break;
    body.push(line.slice(indent));
  }
  return body.join("\n");
}

describe("README shell examples, run as printed against a local vault", () => {
  /** Runs an example with bash (GitHub's default shell), only the given variables set. */
  async function example(
    name: string,
    vars: Record<string, string>,
  ): Promise<{ code: number; stdout: string; stderr: string }> {
    const env = { PATH: process.env.PATH ?? "", HOME: workdir, ...vars };
    return run("bash", ["-c", await readmeScript(name)], { env: asProcessEnv(env), cwd: workdir }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );
  }
  const dev = () => ({ VAULT: vault.url, TOKEN: vault.adminToken, TENANT: vault.tenantId });

  it("the quick start (after the banner's export line)", async () => {
    const result = await example("quick-start", dev());
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('"credential_name":"openai"');
  });

  it("the webhook example: creates its credential and webhook, leases with a signed request", async () => {
    const result = await example("webhook", dev());
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim()).toMatch(/^"lease_[0-9a-f]{24}"$/);
  });

  it("the GitHub curl fallback: lease step exports the value and ids, revoke step revokes; a failed lease writes nothing and fails", async () => {
    // The README's job asks for audience $VAULT: a trust policy for that audience.
    await admin.oidc.create({
      name: "github-readme",
      issuer: ISSUER,
      audience: vault.url,
      jwks: { keys: [{ ...keys.publicKey.export({ format: "jwk" }), kid: KID, alg: "RS256", use: "sig" }] },
      conditions: { repository_owner: "acme" },
      identity_template: "ci:github:{repository}",
      credentials: ["deploy/aws-key"],
      max_ttl: "15m",
    });
    const githubEnv = path.join(workdir, "readme-github-env");
    await writeFile(githubEnv, "");
    const runner = {
      VAULT: vault.url,
      VAULT_TENANT: vault.tenantId,
      GITHUB_ENV: githubEnv,
      ACTIONS_ID_TOKEN_REQUEST_URL: tokenUrl,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: REQUEST_TOKEN,
    };
    const lease = await example("github-lease", runner);
    expect(lease.code, lease.stderr).toBe(0);
    const written = Object.fromEntries(
      (await readFile(githubEnv, "utf8"))
        .trim()
        .split("\n")
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
    expect(written.AWS_SECRET_ACCESS_KEY).toBe("AKIA-action-canary");
    const ids = JSON.parse(written.VAULT_LEASE_IDS!) as string[];
    expect((await admin.leases.get(ids[0]!)).state).toBe("active");
    const revoke = await example("github-revoke", { ...runner, VAULT_LEASE_IDS: written.VAULT_LEASE_IDS! });
    expect(revoke.code, revoke.stderr).toBe(0);
    expect((await admin.leases.get(ids[0]!)).state).toBe("revoked");

    // The failure the old example hid: an unknown tenant makes the step fail, nothing is exported.
    await writeFile(githubEnv, "");
    const failed = await example("github-lease", { ...runner, VAULT_TENANT: "0".repeat(20) });
    expect(failed.code).not.toBe(0);
    expect(await readFile(githubEnv, "utf8")).toBe("");
    const nothing = await example("github-revoke", runner);
    expect(nothing.code).toBe(0);
  });
});
