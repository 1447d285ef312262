import { randomUUID } from "node:crypto";
import { readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VaultClient, VaultError } from "../../../sdk/index";
import { descendants } from "../support/processes";
import { startLocalVault, type LocalVault } from "../support/vault";
import { writeConfig } from "../../../cli/config";
import { buildCli, cliEnv, collect, runCli, spawnCli, waitForOutput, type CliFixture } from "./helpers";

/** The `ghostvault` CLI against a real local Vault (one per file). */

const CHILD = path.join(path.dirname(new URL(import.meta.url).pathname), "fixtures", "child.mjs");

let vault: LocalVault;
let admin: VaultClient;
let cli: CliFixture;
let env: Record<string, string>;

beforeAll(async () => {
  [vault, cli] = await Promise.all([startLocalVault(), buildCli()]);
  admin = new VaultClient({ url: vault.url, token: vault.adminToken });
  env = cliEnv(cli, { GHOSTVAULT_URL: vault.url, GHOSTVAULT_TOKEN: vault.adminToken });
});
afterAll(async () => {
  await vault?.stop();
  await cli?.cleanup();
});

/** A credential of this test's own, with a value unlike any other. */
async function credential(options: { defaultTtl?: string } = {}): Promise<{ name: string; value: string }> {
  const name = `cli/${randomUUID().slice(0, 8)}`;
  const value = `sk-${randomUUID()}`;
  await admin.credentials.create({ name, value, default_ttl: (options.defaultTtl ?? "5m") as "5m", max_ttl: "1h" });
  return { name, value };
}

async function leasesOf(name: string) {
  return (await admin.leases.list({ credential: name })).items;
}

describe("login and whoami", () => {
  it("login --token-stdin stores url and token with mode 0600 in a 0700 dir; whoami then works from the file alone", async () => {
    const fileEnv = cliEnv(cli);
    const login = await runCli(cli, ["login", vault.url, "--token-stdin"], {
      env: fileEnv,
      input: `${vault.adminToken}\n`,
    });
    expect(login.stderr).toContain("logged in to");
    expect(login.code).toBe(0);
    const file = path.join(fileEnv.XDG_CONFIG_HOME!, "ghostvault", "config.json");
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(path.dirname(file))).mode & 0o777).toBe(0o700);
    expect(JSON.parse(await readFile(file, "utf8"))).toEqual({ url: vault.url, token: vault.adminToken });
    const who = await runCli(cli, ["whoami", "--json"], { env: fileEnv });
    expect(who.code).toBe(0);
    expect(JSON.parse(who.stdout)).toMatchObject({
      identity: "user:admin@test",
      role: "admin",
      tenant_id: vault.tenantId,
      source: "config",
    });
  });

  it("profiles: --profile and GHOSTVAULT_PROFILE keep a second login apart from the default (issue 12 §4)", async () => {
    const fileEnv = cliEnv(cli, { XDG_CONFIG_HOME: path.join(cli.home, `profiles-${randomUUID()}`) });
    const login = await runCli(cli, ["--profile", "second", "login", vault.url, "--token-stdin"], {
      env: fileEnv,
      input: vault.adminToken,
    });
    expect(login.code).toBe(0);
    const file = path.join(fileEnv.XDG_CONFIG_HOME!, "ghostvault", "profiles", "second.json");
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(path.dirname(file))).mode & 0o777).toBe(0o700);
    // The default login is untouched: still not logged in.
    const plain = await runCli(cli, ["whoami"], { env: fileEnv });
    expect(plain.code).toBe(1);
    expect(plain.stderr).toMatch(/^error: not logged in:/);
    const other = await runCli(cli, ["--profile", "third", "whoami"], { env: fileEnv });
    expect(other.stderr).toBe(
      'error: not logged in with profile "third": run `ghostvault --profile third login <url>`\n',
    );
    // Positive controls: the profile by flag and by environment variable.
    for (const args of [
      ["--profile", "second", "whoami", "--json"],
      ["whoami", "--json"],
    ]) {
      const who = await runCli(cli, args, {
        env: args[0] === "--profile" ? fileEnv : { ...fileEnv, GHOSTVAULT_PROFILE: "second" },
      });
      expect(who.code, args.join(" ")).toBe(0);
      expect(JSON.parse(who.stdout)).toMatchObject({ identity: "user:admin@test", source: "config" });
    }
    const bad = await runCli(cli, ["--profile", "../escape", "whoami"], { env: fileEnv });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: option '--profile <name>' argument '\.\.\/escape' is invalid/);
    const badEnv = await runCli(cli, ["whoami"], { env: { ...fileEnv, GHOSTVAULT_PROFILE: "../escape" } });
    expect(badEnv.code).toBe(1);
    expect(badEnv.stderr).toMatch(/^error: GHOSTVAULT_PROFILE must be/);
  });

  it("login refuses a wrong token and stores nothing", async () => {
    const fileEnv = cliEnv(cli, { XDG_CONFIG_HOME: path.join(cli.home, `bad-${randomUUID()}`) });
    const login = await runCli(cli, ["login", vault.url, "--token-stdin"], {
      env: fileEnv,
      input: `gv_api_${vault.tenantId}_wrong\n`,
    });
    expect(login.code).toBe(1);
    expect(login.stderr).toMatch(/^error: .+ \(unauthorized, request \S+\)\n$/);
    await expect(stat(path.join(fileEnv.XDG_CONFIG_HOME!, "ghostvault", "config.json"))).rejects.toThrow(/ENOENT/);
  });
});

describe("creds", () => {
  it("creds add reads the value from stdin; `--value` is refused and creates nothing", async () => {
    const value = `sk-${randomUUID()}`;
    const refused = `cli/${randomUUID().slice(0, 8)}`;
    const r1 = await runCli(cli, ["creds", "add", refused, "--value", value], { env, input: "ignored\n" });
    expect(r1.code).toBe(2);
    expect(r1.stderr).toMatch(/^error: values are never taken from arguments/);
    expect(r1.stderr + r1.stdout).not.toContain(value);
    await expect(admin.credentials.get(refused)).rejects.toMatchObject({ code: "not_found" });
    // Positive control: the same value through stdin is stored (one final newline dropped).
    const name = `cli/${randomUUID().slice(0, 8)}`;
    const r2 = await runCli(
      cli,
      ["creds", "add", name, "--description", "from the cli", "--tag", "t1", "--max-ttl", "1h"],
      { env, input: `${value}\n` },
    );
    expect(r2.code).toBe(0);
    expect((await admin.credentials.get(name)).description).toBe("from the cli");
    const lease = await admin.lease(name);
    expect(lease.value).toBe(value);
    await lease.revoke();
  });

  it("ls, show, update, rotate, rm; tables for people, JSON for scripts, one error line for failures", async () => {
    const { name } = await credential();
    const ls = await runCli(cli, ["creds", "ls", "--prefix", name], { env });
    expect(ls.stdout).toMatch(/^NAME\s+VERSION\s+DEFAULT TTL\s+MAX TTL\s+TAGS\s+UPDATED\n/);
    expect(ls.stdout).toContain(name);
    expect(ls.stdout).not.toContain("\u001b[");
    const update = await runCli(cli, ["creds", "update", name, "--description", "changed", "--json"], { env });
    expect(JSON.parse(update.stdout)).toMatchObject({ name, description: "changed" });
    const rotate = await runCli(cli, ["creds", "rotate", name], { env, input: "new-value" });
    expect(rotate.code).toBe(0);
    const show = await runCli(cli, ["creds", "show", name, "--json"], { env });
    expect(JSON.parse(show.stdout)).toMatchObject({
      name,
      current_version: 2,
      versions: [{ version: 2 }, { version: 1 }],
    });
    expect((await runCli(cli, ["creds", "rm", name], { env })).code).toBe(0);
    const gone = await runCli(cli, ["creds", "show", name], { env });
    expect(gone.code).toBe(1);
    // Names the credential (issue 12 §4; it used to say only "no such credential").
    expect(gone.stderr).toMatch(new RegExp(`^error: no such credential "${name}" \\(not_found, request \\S+\\)\n$`));
    expect(gone.stdout).toBe("");
  });
});

describe("creds import", () => {
  it("stores each VAR=value of a .env file under a prefix, never echoes a value, leaves existing credentials alone", async () => {
    const prefix = `imp-${randomUUID().slice(0, 8)}/`;
    const [openai, db] = [`sk-${randomUUID()}`, `postgres://u:${randomUUID()}@h/db`];
    const file = path.join(cli.home, `import-${randomUUID()}.env`);
    await writeFile(file, `OPENAI_API_KEY=${openai}\nexport DB_URL="${db}"\nALREADY=gv://somewhere\n`);
    const r = await runCli(cli, ["creds", "import", file, "--prefix", prefix, "--max-ttl", "1h"], { env });
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(openai);
    expect(r.stdout + r.stderr).not.toContain(db);
    expect(r.stdout).toMatch(new RegExp(`OPENAI_API_KEY\\s+${prefix}openai-api-key\\s+created`));
    expect(r.stderr).toBe("skipped 1 gv:// reference: ALREADY\n");
    const lease = await admin.lease(`${prefix}db-url`);
    expect(lease.value).toBe(db);
    await lease.revoke();
    // Again: both exist, nothing is overwritten, the exit code says not everything was imported.
    await writeFile(file, `OPENAI_API_KEY=changed-${randomUUID()}\nDB_URL=${db}\n`);
    const again = await runCli(cli, ["creds", "import", file, "--prefix", prefix, "--json"], { env });
    expect(again.code).toBe(1);
    expect(JSON.parse(again.stdout)).toMatchObject({
      items: [
        { variable: "OPENAI_API_KEY", result: "exists" },
        { variable: "DB_URL", result: "exists" },
      ],
    });
    const kept = await admin.lease(`${prefix}openai-api-key`);
    expect(kept.value).toBe(openai);
    await kept.revoke();
  });
});

describe("lease", () => {
  it("prints the value alone on stdout and the metadata on stderr; --json gives both", async () => {
    const cred = await credential();
    const plain = await runCli(cli, ["lease", cred.name, "--ttl", "2m"], { env });
    expect(plain.code).toBe(0);
    expect(plain.stdout).toBe(cred.value);
    expect(plain.stderr).toMatch(/^lease lease_\w+ of cli\/\w+ v1, expires /);
    const json = JSON.parse((await runCli(cli, ["lease", cred.name, "--json"], { env })).stdout) as {
      value: string;
      lease: { id: string; agent: { name: string } };
    };
    expect(json.value).toBe(cred.value);
    expect((await admin.leases.get(json.lease.id)).agent).toMatchObject({ name: "ghostvault-cli" });
  });
});

describe("run", () => {
  it("masks values whole and split across writes on stdout and stderr, propagates the exit code, revokes the leases", async () => {
    const a = await credential();
    const b = await credential();
    const r = await runCli(
      cli,
      [
        "run",
        "--env",
        `GV_A=${a.name}`,
        "--env",
        `GV_B=${b.name}`,
        "--ttl",
        "1m",
        "--",
        process.execPath,
        CHILD,
        "print",
        "7",
      ],
      { env },
    );
    expect(r.code).toBe(7);
    expect(r.stdout).toBe("whole:*****\nsplit:*****:end\n");
    expect(r.stderr).toBe("err:*****:end\n");
    for (const cred of [a, b]) {
      const [lease] = await leasesOf(cred.name);
      expect(lease).toMatchObject({
        state: "revoked",
        agent: { name: "ghostvault-run", tool: path.basename(process.execPath) },
      });
    }
  });

  it("masks the value's base64, base64url, hex and URL-encodings in the command's output; other text passes unchanged", async () => {
    const a = await credential();
    const encode = [
      "const v = Buffer.from(process.env.GV_A), s = (x) => process.stdout.write(x + '\\n');",
      "s('b64 ' + v.toString('base64')); s('b64url ' + v.toString('base64url'));",
      "s('b64+1 ' + Buffer.concat([Buffer.from('x'), v]).toString('base64')); s('b64+2 ' + Buffer.concat([Buffer.from('xy'), v]).toString('base64'));",
      "s('hex ' + v.toString('hex')); s('HEX ' + v.toString('hex').toUpperCase()); s('url ' + encodeURIComponent(process.env.GV_A + ' /'));",
      "process.stderr.write('plain c2stbGl2ZQ== 0123456789abcdef %41\\n');",
    ].join(" ");
    const r = await runCli(cli, ["run", "--env", `GV_A=${a.name}`, "--", process.execPath, "-e", encode], { env });
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines.map((l) => l.split(" ")[0])).toEqual(["b64", "b64url", "b64+1", "b64+2", "hex", "HEX", "url"]);
    for (const line of lines) expect(line, line).toMatch(/^\S+ (\S{0,3})\*\*\*\*\*\S{0,9}$/);
    expect(r.stdout).toContain(`url *****${encodeURIComponent(" /")}`);
    // Positive control: text that is no encoding of a value is untouched.
    expect(r.stderr).toBe("plain c2stbGl2ZQ== 0123456789abcdef %41\n");
  });

  it("does not pass GHOSTVAULT_TOKEN to the command, and a missing command exits 127 with leases revoked", async () => {
    const a = await credential();
    const r = await runCli(cli, ["run", "--env", `GV_A=${a.name}`, "--", process.execPath, CHILD, "env"], { env });
    expect(r.stdout).toBe("GHOSTVAULT_URL|\n");
    const missing = await runCli(cli, ["run", "--env", `GV_A=${a.name}`, "--", "/nonexistent/command"], { env });
    expect(missing.code).toBe(127);
    expect(missing.stderr).toContain("cannot run /nonexistent/command");
    expect((await leasesOf(a.name)).map((l) => l.state)).toEqual(["revoked", "revoked"]);
  });

  it("does not pass the login's profile name (the login file) to the command; other variables pass", async () => {
    const a = await credential();
    const profileEnv = cliEnv(cli, { GHOSTVAULT_PROFILE: `run${randomUUID().slice(0, 8)}` });
    await writeConfig({ url: vault.url, token: vault.adminToken }, profileEnv);
    for (const args of [[], ["--profile", profileEnv.GHOSTVAULT_PROFILE!]]) {
      const base = args.length === 0 ? profileEnv : cliEnv(cli);
      const r = await runCli(cli, [...args, "run", "--env", `GV_A=${a.name}`, "--", process.execPath, CHILD, "env"], {
        env: { ...base, GHOSTVAULT_PINS: "" },
      });
      expect(r.code, r.stderr).toBe(0);
      // Positive control: an unrelated GHOSTVAULT_ variable still reaches the command.
      expect(r.stdout).toBe("GHOSTVAULT_PINS|\n");
    }
    // The command can still read the login file (same user), but its output shows no token.
    const file = await writeConfig({ url: vault.url, token: vault.adminToken }, profileEnv);
    const show = `const t = JSON.parse(require('fs').readFileSync(${JSON.stringify(file)}, 'utf8')).token; console.log(t, Buffer.from(t).toString('base64'))`;
    const read = await runCli(cli, ["run", "--env", `GV_A=${a.name}`, "--", process.execPath, "-e", show], {
      env: profileEnv,
    });
    expect(read.stdout).toBe("***** *****\n");
  });

  it("on SIGTERM forwards it to the command, revokes the leases and exits 128+15", async () => {
    const a = await credential();
    const child = spawnCli(cli, ["run", "--env", `GV_A=${a.name}`, "--", process.execPath, CHILD, "hold", "60000"], {
      env,
    });
    const done = collect(child, 30_000);
    child.stdin!.end();
    await waitForOutput(child, "ready");
    expect((await leasesOf(a.name))[0]!.state).toBe("active");
    const grandchild = descendants(child.pid!).find((p) => p.args.includes("child.mjs"));
    expect(grandchild).toBeDefined();
    child.kill("SIGTERM");
    const r = await done;
    expect(r.code).toBe(143);
    expect((await leasesOf(a.name))[0]!.state).toBe("revoked");
    expect(descendants().some((p) => p.pid === grandchild!.pid)).toBe(false);
  });

  it("renews a 3 s lease while a ~5 s command runs, then revokes it", async () => {
    const a = await credential();
    const child = spawnCli(
      cli,
      ["run", "--env", `GV_A=${a.name}`, "--ttl", "3s", "--", process.execPath, CHILD, "hold", "5000"],
      { env },
    );
    const done = collect(child, 30_000);
    child.stdin!.end();
    await waitForOutput(child, "ready");
    const [first] = await leasesOf(a.name);
    await new Promise((r) => setTimeout(r, 3500));
    // Past the first term: still active only because it was renewed.
    const mid = await admin.leases.get(first!.id);
    expect(mid.state).toBe("active");
    expect(Date.parse(mid.expires_at)).toBeGreaterThan(Date.parse(first!.issued_at) + 3000);
    const r = await done;
    expect(r.code).toBe(0);
    expect((await admin.leases.get(first!.id)).state).toBe("revoked");
  });
});

describe("leases, tokens, acl, kek, incident", () => {
  it("leases ls/renew/revoke and revoke-all", async () => {
    const a = await credential();
    const l1 = await admin.lease(a.name, { ttl: "5m" });
    const l2 = await admin.lease(a.name, { ttl: "5m" });
    const ls = await runCli(cli, ["leases", "ls", "--credential", a.name, "--state", "active"], { env });
    expect(ls.stdout).toContain(l1.id);
    expect((await runCli(cli, ["leases", "renew", l1.id, "--ttl", "10m", "--json"], { env })).code).toBe(0);
    expect((await runCli(cli, ["leases", "revoke", l1.id], { env })).code).toBe(0);
    const all = await runCli(cli, ["leases", "revoke-all", "--credential", a.name, "--json"], { env });
    expect(JSON.parse(all.stdout)).toEqual({ revoked: 1 });
    expect((await admin.leases.get(l2.id)).state).toBe("revoked");
  });

  it("tokens create/ls/revoke, acl set/get, kek status, incident report", async () => {
    const created = await runCli(
      cli,
      ["tokens", "create", "--name", "ci", "--role", "user", "--identity", "agent:cli-test", "--json"],
      { env },
    );
    const token = JSON.parse(created.stdout) as { id: string; token: string };
    expect((await runCli(cli, ["tokens", "ls"], { env })).stdout).toContain(token.id);
    expect((await runCli(cli, ["tokens", "revoke", token.id], { env })).code).toBe(0);
    await expect(new VaultClient({ url: vault.url, token: token.token }).whoami()).rejects.toBeInstanceOf(VaultError);
    const a = await credential();
    const policy = { rules: [{ effect: "deny", identity: "agent:*" }], agent_visible: true };
    expect((await runCli(cli, ["acl", "set", a.name], { env, input: JSON.stringify(policy) })).code).toBe(0);
    expect(JSON.parse((await runCli(cli, ["acl", "get", a.name, "--json"], { env })).stdout)).toEqual(policy);
    const bad = await runCli(cli, ["acl", "set", a.name], { env, input: "{nope" });
    expect(bad.stderr).toBe("error: the policy is not valid JSON\n");
    expect(JSON.parse((await runCli(cli, ["kek", "status", "--json"], { env })).stdout)).toMatchObject({
      active_version: 1,
    });
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const report = await runCli(
      cli,
      ["incident", "report", "--from", from, "--to", new Date(Date.now() + 60_000).toISOString(), "--json"],
      { env },
    );
    expect(JSON.parse(report.stdout)).toMatchObject({ truncated: false });
  });
});

describe("audit", () => {
  it("export writes JSON Lines; verify --file checks it offline with only the public key, and fails on a tampered copy", async () => {
    const file = path.join(cli.home, "export.jsonl");
    const exported = await runCli(cli, ["audit", "export", "--output", file], { env });
    expect(exported.code).toBe(0);
    const lines = (await readFile(file, "utf8")).trim().split("\n");
    expect(JSON.parse(lines[0]!)).toMatchObject({ kind: "header", format: "ghostvault-audit-export/v1" });
    const vkey = (await runCli(cli, ["audit", "public-key"], { env })).stdout.trim();
    // Offline: no URL, no token, no stored login.
    const offline = cliEnv(cli, { XDG_CONFIG_HOME: path.join(cli.home, "none") });
    const ok = await runCli(cli, ["audit", "verify", "--file", file, "--public-key", vkey, "--json"], { env: offline });
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, tenant: vault.tenantId, fromSeq: 1 });
    const tampered = path.join(cli.home, "tampered.jsonl");
    await writeFile(
      tampered,
      lines.map((l, i) => (i === 2 ? l.replace('"outcome":"success"', '"outcome":"denied"') : l)).join("\n"),
    );
    expect(lines[2]).toContain('"outcome":"success"');
    const bad = await runCli(cli, ["audit", "verify", "--file", tampered, "--public-key", vkey], { env: offline });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error: audit export does not verify at seq 2: /);
  });

  it("tail, query and online verify", async () => {
    const tail = await runCli(cli, ["audit", "tail", "-n", "3", "--json"], { env });
    const records = tail.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { seq: number });
    expect(records).toHaveLength(3);
    expect(records[2]!.seq).toBe(records[0]!.seq + 2);
    const query = await runCli(cli, ["audit", "query", "--type", "lease.created", "--limit", "2"], { env });
    expect(query.stdout).toMatch(/^SEQ\s+TIME\s+TYPE/);
    expect(query.stdout).toContain("lease.created");
    const verify = await runCli(cli, ["audit", "verify", "--allow-unsigned-tail", "--json"], { env });
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true });
  });

  it("prove fetches Merkle inclusion and consistency proofs and checks them locally", async () => {
    const inclusion = await runCli(cli, ["audit", "prove", "--seq", "1", "--json"], { env });
    expect(inclusion.code).toBe(0);
    expect(JSON.parse(inclusion.stdout)).toMatchObject({ ok: true, seq: 1 });
    const consistency = await runCli(cli, ["audit", "prove", "--old", "1", "--json"], { env });
    expect(consistency.code).toBe(0);
    expect(JSON.parse(consistency.stdout)).toMatchObject({ ok: true, old: 1 });
    // Denial beside them: an ambiguous request is a usage error, and nothing is fetched.
    const both = await runCli(cli, ["audit", "prove", "--seq", "1", "--old", "1"], { env });
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/exactly one of --seq/);
  });

  it("check-head remembers the signed head, proves the next one extends it, and exits 3 when memory and vault disagree", async () => {
    const headEnv = { ...env, XDG_CONFIG_HOME: path.join(cli.home, "check-head") };
    const memoryFile = path.join(headEnv.XDG_CONFIG_HOME, "ghostvault", "audit-checkpoints.json");
    const key = (await admin.audit.publicKey()).verifier_key;
    const head = (args: string[] = []) => runCli(cli, ["audit", "check-head", ...args], { env: headEnv });
    // Usage error without a key: trust comes from the caller, never from the vault.
    const keyless = await head();
    expect(keyless.code).toBe(2);
    expect(keyless.stderr).toMatch(/--public-key/);
    const first = await head(["--public-key", key, "--json"]);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ ok: true, provedFrom: null });
    await credential();
    const second = await head(["--public-key", key]);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/proved from\s+\d+/);
    // The remembered root changed (as when the vault showed this machine another history): exit 3.
    const memory = JSON.parse(await readFile(memoryFile, "utf8")) as Record<string, { hash: string }>;
    for (const origin of Object.keys(memory)) memory[origin]!.hash = "00".repeat(32);
    await writeFile(memoryFile, JSON.stringify(memory));
    await credential();
    const forked = await head(["--public-key", key]);
    expect(forked.code).toBe(3);
    expect(forked.stderr).toMatch(/fork or rollback/);
  });
});

describe("terminal-safe output and errors that name the thing (issues 9 §10, 12 §4)", () => {
  // OSC 52 (write "rm -rf ~" to the clipboard), CSI 2K (erase the line), U+202E (right-to-left override).
  const HOSTILE = "\u001b]52;c;cm0gLXJmIH4=\u0007\u001b[2K\u202e";
  const SHOWN = "\\x1b]52;c;cm0gLXJmIH4=\\x07\\x1b[2K\\u202e";
  const RAW_UNSAFE =
    /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

  it("a description, lease purpose and agent name carrying ESC sequences and bidi overrides are escaped for people and exact in --json", async () => {
    const name = `cli/${randomUUID().slice(0, 8)}`;
    const created = await admin.credentials.create({
      name,
      value: `sk-${randomUUID()}`,
      description: `desc${HOSTILE}`,
      default_ttl: "5m",
      max_ttl: "1h",
    });
    await admin.lease(name, { purpose: `purpose${HOSTILE}`, agent: { name: `agent${HOSTILE}` } });
    const human = [
      await runCli(cli, ["creds", "show", name], { env }),
      await runCli(cli, ["leases", "ls", "--credential", name], { env }),
      await runCli(cli, ["audit", "query", "--type", "lease.created", "--credential", created.id], { env }),
    ];
    for (const r of human) {
      expect(r.code).toBe(0);
      expect(r.stdout + r.stderr).not.toMatch(RAW_UNSAFE);
    }
    expect(human[0]!.stdout).toContain(`desc${SHOWN}`);
    expect(human[1]!.stdout).toContain(`agent${SHOWN}`);
    // The audit table names identity and credential and describes the entry, instead of raw JSON.
    expect(human[2]!.stdout).toMatch(/^SEQ\s+TIME\s+TYPE\s+IDENTITY\s+OUTCOME\s+CREDENTIAL\s+DETAIL\n/);
    expect(human[2]!.stdout).toContain(`user:admin@test  success  ${name} v1`);
    expect(human[2]!.stdout).toContain(`ttl=5m purpose=purpose${SHOWN} agent=agent${SHOWN}`);
    expect(human[2]!.stdout).not.toContain('{"identity"');

    const show = await runCli(cli, ["creds", "show", name, "--json"], { env });
    const leases = await runCli(cli, ["leases", "ls", "--credential", name, "--json"], { env });
    const audit = await runCli(
      cli,
      ["audit", "query", "--type", "lease.created", "--credential", created.id, "--json"],
      { env },
    );
    for (const r of [show, leases, audit]) expect(r.stdout).not.toMatch(RAW_UNSAFE);
    expect(JSON.parse(show.stdout)).toMatchObject({ description: `desc${HOSTILE}` });
    expect(JSON.parse(leases.stdout)).toMatchObject({
      items: [{ purpose: `purpose${HOSTILE}`, agent: { name: `agent${HOSTILE}` } }],
    });
    expect(JSON.parse(audit.stdout)).toMatchObject({
      items: [{ entry: { details: { purpose: `purpose${HOSTILE}` } } }],
    });

    // Positive control: ordinary text is printed exactly as stored.
    const plain = `cli/${randomUUID().slice(0, 8)}`;
    await admin.credentials.create({
      name: plain,
      value: "v",
      description: "ordinary text: café 日本語 🙂 (v2)",
      default_ttl: "15m",
      max_ttl: "1d",
    });
    const ordinary = await runCli(cli, ["creds", "show", plain], { env });
    expect(ordinary.stdout).toMatch(/description\s+ordinary text: café 日本語 🙂 \(v2\)\n/);
    expect(ordinary.stdout).toMatch(/default ttl\s+15m\n/);
    expect(ordinary.stdout).toMatch(/max ttl\s+1d\n/);
  });

  it("run names the credential it cannot find; lease over the maximum points at --clamp; --json errors carry the same exit code", async () => {
    const missing = `cli/missing-${randomUUID().slice(0, 8)}`;
    const run = await runCli(cli, ["run", "--env", `A=${missing}`, "--", "true"], { env });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`^error: no such credential "${missing}" \\(not_found, request \\S+\\)\n$`));
    const runJson = await runCli(cli, ["run", "--json", "--env", `A=${missing}`, "--", "true"], { env });
    expect(runJson.code).toBe(1);
    expect(JSON.parse(runJson.stdout)).toMatchObject({
      error: { code: "not_found", message: `no such credential "${missing}"`, request_id: expect.any(String) },
    });
    const cred = await credential();
    const over = await runCli(cli, ["lease", cred.name, "--ttl", "2h"], { env });
    expect(over.code).toBe(1);
    expect(over.stderr).toContain(
      `${cred.name}: ttl 7200s exceeds this credential's maximum of 3600s; ask for less or add --clamp to take the maximum`,
    );
    // Positive control: with --clamp the same lease is granted.
    const clamped = await runCli(cli, ["lease", cred.name, "--ttl", "2h", "--clamp"], { env });
    expect(clamped.code).toBe(0);
    expect(clamped.stdout).toBe(cred.value);
  });

  it("run --env-file leases VAR=gv://credential lines, passes other lines on, and masks the leased values", async () => {
    const a = await credential();
    const b = await credential();
    const file = path.join(cli.home, `run-${randomUUID()}.env`);
    await writeFile(file, `# references, not values\nGV_A=gv://${a.name}\nexport PLAIN_PORT="3000"\n`);
    const show =
      "process.stdout.write([process.env.PLAIN_PORT, process.env.GV_A, process.env.GV_A === process.env.EXPECT_A ? 'same' : 'different', process.env.GV_B.length].join('|'))";
    const r = await runCli(
      cli,
      ["run", "--env-file", file, "--env", `GV_B=${b.name}`, "--", process.execPath, "-e", show],
      { env: { ...env, EXPECT_A: a.value } },
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`3000|*****|same|${b.value.length}`);
    expect((await leasesOf(a.name)).map((l) => l.state)).toEqual(["revoked"]);
    // A malformed file is a usage error naming the line, and leases nothing.
    const bad = path.join(cli.home, `bad-${randomUUID()}.env`);
    await writeFile(bad, `GV_A=gv://${a.name}\nnot a line\n`);
    const refused = await runCli(cli, ["run", "--env-file", bad, "--", "true"], { env });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe(`error: ${bad}:2: expected VAR=value or VAR=gv://credential\n`);
    expect(await leasesOf(a.name)).toHaveLength(1);
  });

  it("login accepts host:port and stores it as an http URL on loopback", async () => {
    const fileEnv = cliEnv(cli, { XDG_CONFIG_HOME: path.join(cli.home, `hp-${randomUUID()}`) });
    const hostPort = new URL(vault.url).host;
    const login = await runCli(cli, ["login", hostPort, "--token-stdin"], { env: fileEnv, input: vault.adminToken });
    expect(login.code).toBe(0);
    expect(
      JSON.parse(await readFile(path.join(fileEnv.XDG_CONFIG_HOME!, "ghostvault", "config.json"), "utf8")),
    ).toMatchObject({ url: `http://${hostPort}` });
  });
});
