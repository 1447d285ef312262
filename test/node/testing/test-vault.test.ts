import { execFile } from "node:child_process";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { processes } from "../support/processes";
import { ROOT } from "../support/vault";

/**
 * `@ghoststack/vault-testing` as a user gets it: the SDK and testing packages are `npm pack`ed
 * (which builds them), installed into a temp project outside the repository, and driven by plain
 * Node scripts there, each with its own empty TMPDIR so anything left behind is seen.
 */

const run = promisify(execFile);
let packDir: string;
let consumer: string;

/** Runs `source` as an ESM script in the consumer project and returns its last stdout line, parsed. */
async function script(name: string, source: string): Promise<{ out: Record<string, unknown>; tmp: string[] }> {
  const tmp = await mkdtemp(path.join(tmpdir(), "ghostvault-tvtmp-"));
  try {
    await writeFile(path.join(consumer, name), source);
    const { stdout } = await run(process.execPath, [name], {
      cwd: consumer,
      env: { PATH: process.env.PATH ?? "", HOME: consumer, TMPDIR: tmp },
      maxBuffer: 16 << 20,
    });
    const lines = stdout.trim().split("\n");
    return { out: JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>, tmp: await readdir(tmp) };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Live processes started from the consumer's installed packages (workerd lives under its node_modules). */
const leftovers = () => processes().filter((p) => p.args.includes(consumer));

beforeAll(async () => {
  packDir = await mkdtemp(path.join(tmpdir(), "ghostvault-tvpack-"));
  consumer = await mkdtemp(path.join(tmpdir(), "ghostvault-tvconsumer-"));
  const packed = await run(
    "npm",
    ["pack", "--workspace", "sdk", "--workspace", "testing", "--pack-destination", packDir, "--json"],
    {
      cwd: ROOT,
      env: { ...process.env, npm_config_loglevel: "error" },
      maxBuffer: 16 << 20,
    },
  );
  const tarballs = (JSON.parse(packed.stdout) as { filename: string }[]).map((p) => path.join(packDir, p.filename));
  expect(tarballs).toHaveLength(2);
  await writeFile(
    path.join(consumer, "package.json"),
    JSON.stringify({ name: "consumer", private: true, type: "module" }),
  );
  // Dependencies (miniflare, workerd, zod) come from the npm cache the repository's install filled.
  await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", ...tarballs], {
    cwd: consumer,
    maxBuffer: 16 << 20,
  });
}, 240_000);
afterAll(async () => {
  for (const dir of [packDir, consumer]) if (dir) await rm(dir, { recursive: true, force: true });
});

describe("startTestVault from the installed package", () => {
  it("starts with fixtures, leases through the SDK, moves the clock, injects a KMS fault, reads the audit log, and stops", async () => {
    const { out, tmp } = await script(
      "fixtures.mjs",
      `import { startTestVault } from "@ghoststack/vault-testing";
import { VaultClient, VaultError } from "@ghoststack/vault-sdk";
const vault = await startTestVault({
  credentials: { openai: "sk-test-1", github: { value: "ghp-test", options: { default_ttl: "5m", max_ttl: "1h" } } },
  acl: { github: { rules: [{ effect: "allow", identity: "agent:ci", permissions: ["lease"] }] }, openai: { rules: [{ effect: "deny", identity: "agent:ci" }] } },
  tokens: [{ role: "user", identity: "agent:ci" }],
});
const result = {};
try {
  result.sdkClient = vault.client instanceof VaultClient;
  const lease = await vault.client.lease("openai", { ttl: "1m", purpose: "fixture test" });
  result.value = lease.value;
  const agent = new VaultClient({ url: vault.url, token: vault.tokens[0] });
  result.agentGithub = (await agent.lease("github", { ttl: "1m" })).value;
  result.agentOpenai = await agent.lease("openai", { ttl: "1m" }).then(() => "leased", (e) => e instanceof VaultError ? e.code : String(e));
  const before = (await vault.client.leases.get(lease.id)).state;
  await vault.advanceClock(2 * 60_000);
  result.states = [before, (await vault.client.leases.get(lease.id)).state];
  await vault.setClock(null);
  // A KEK rotation needs the KMS: it fails while the emulator errors, and works once the fault is cleared.
  await vault.kmsFaults({ mode: "error" });
  result.faulted = await vault.client.admin.rotateKek().then(() => "rotated", (e) => e.code);
  await vault.kmsFaults({ mode: "none" });
  result.afterFault = await vault.client.admin.rotateKek().then(() => "rotated", (e) => e.code);
  result.actions = (await vault.audit()).items.map((e) => e.entry.type);
  result.production = await import("@ghoststack/vault-testing").then((m) => m.startTestVault({ vars: { ENVIRONMENT: "production" } })).then(() => "started", (e) => e.message);
} finally {
  await vault[Symbol.asyncDispose]();
}
result.afterStop = await fetch(vault.url + "/v1/ready").then((r) => r.status, () => "refused");
console.log(JSON.stringify(result));
`,
    );
    expect(out.sdkClient).toBe(true);
    expect(out.value).toBe("sk-test-1");
    // ACL fixtures: the agent may lease github (positive control) but not openai, whose ACL denies it.
    expect(out.agentGithub).toBe("ghp-test");
    expect(out.agentOpenai).not.toBe("leased");
    expect(out.states).toEqual(["active", "expired"]);
    expect(out.faulted).not.toBe("rotated");
    expect(out.afterFault).toBe("rotated");
    expect(out.actions).toEqual(expect.arrayContaining(["credential.created", "lease.created", "lease.denied"]));
    expect(String(out.production)).toContain('ENVIRONMENT must be "test"');
    expect(out.afterStop).toBe("refused");
    expect(tmp).toEqual([]);
    expect(leftovers()).toEqual([]);
  }, 60_000);

  it("20 start/stop cycles and a failed start leave no workerd process and no temp file; two vaults side by side share nothing", async () => {
    const { out, tmp } = await script(
      "cycles.mjs",
      `import { execFileSync } from "node:child_process";
import { startTestVault } from "@ghoststack/vault-testing";
const children = () => execFileSync("ps", ["-o", "pid=", "--ppid", String(process.pid)], { encoding: "utf8" }).trim().split("\\n").filter(Boolean).length - 1;
const result = { peak: 0 };
for (let i = 0; i < 20; i++) {
  // try/finally + Symbol.asyncDispose: what \`await using\` does, on a Node 20 that lacks the syntax.
  const vault = await startTestVault({ credentials: { cycle: "v" + i } });
  try {
    if ((await vault.client.lease("cycle")).value !== "v" + i) throw new Error("cycle " + i + ": wrong value");
    result.peak = Math.max(result.peak, children());
  } finally {
    await vault[Symbol.asyncDispose]();
  }
}
result.childrenAfterCycles = children();
const [a, b] = await Promise.all([startTestVault({ credentials: { shared: "from-a" } }), startTestVault({ credentials: { shared: "from-b" } })]);
try {
  result.values = [(await a.client.lease("shared")).value, (await b.client.lease("shared")).value];
  result.distinctUrls = a.url !== b.url;
  result.crossToken = await fetch(b.url + "/v1/whoami", { headers: { authorization: "Bearer " + a.token } }).then((r) => r.status);
  result.ownToken = await fetch(a.url + "/v1/whoami", { headers: { authorization: "Bearer " + a.token } }).then((r) => r.status);
  await a.setClock(Date.now() + 86_400_000);
  const lease = await b.client.lease("shared", { ttl: "1m" });
  result.bLeaseState = (await b.client.leases.get(lease.id)).state;
} finally {
  await Promise.all([a.stop(), b.stop()]);
}
// A fixture the vault refuses fails the start with the vault's error, and leaves no runtime behind.
result.badFixture = await startTestVault({ acl: { "no-such-credential": { rules: [] } } }).then((v) => (v.stop(), "started"), (e) => e.code);
result.childrenAtEnd = children();
console.log(JSON.stringify(result));
`,
    );
    expect(out.peak).toBeGreaterThan(0);
    expect(out.childrenAfterCycles).toBe(0);
    expect(out.values).toEqual(["from-a", "from-b"]);
    expect(out.distinctUrls).toBe(true);
    // A token of one vault means nothing to the other (positive control: it works on its own vault).
    expect(out.ownToken).toBe(200);
    expect(out.crossToken).toBe(401);
    // Moving a's clock a day on does not expire b's lease.
    expect(out.bLeaseState).toBe("active");
    expect(out.badFixture).toBe("not_found");
    expect(out.childrenAtEnd).toBe(0);
    expect(tmp).toEqual([]);
    expect(leftovers()).toEqual([]);
  }, 90_000);

  it("a vitest test file in the consumer project starts a vault with fixtures, leases through the SDK and stops it", async () => {
    // The consumer has no vitest of its own: the repository's binary runs it with --globals, so the
    // test file needs no import of "vitest" (nothing is downloaded). try/finally stands in for
    // `await using`, which Node 20 cannot parse.
    await writeFile(
      path.join(consumer, "vault.test.mjs"),
      `import { startTestVault } from "@ghoststack/vault-testing";
import { VaultClient } from "@ghoststack/vault-sdk";
let url;
it("leases a fixture through the SDK, and the ACL fixture refuses the agent", async () => {
  const vault = await startTestVault({
    credentials: { openai: "sk-from-vitest" },
    acl: { openai: { rules: [{ effect: "deny", identity: "agent:ci" }] } },
    tokens: [{ role: "user", identity: "agent:ci" }],
  });
  url = vault.url;
  try {
    expect((await vault.client.lease("openai", { ttl: "1m" })).value).toBe("sk-from-vitest");
    const agent = new VaultClient({ url: vault.url, token: vault.tokens[0] });
    await expect(agent.lease("openai", { ttl: "1m" })).rejects.toMatchObject({ status: 403 });
  } finally {
    await vault.stop();
  }
});
it("the stopped vault no longer answers", async () => {
  expect(url).toMatch(/^http:\\/\\/127\\.0\\.0\\.1:\\d+$/);
  await expect(fetch(url + "/v1/ready")).rejects.toThrow();
});
`,
    );
    const vitest = path.join(ROOT, "node_modules", "vitest", "vitest.mjs");
    const { stdout } = await run(process.execPath, [vitest, "run", "--root", consumer, "--globals", "vault.test.mjs"], {
      cwd: consumer,
      env: { PATH: process.env.PATH ?? "", HOME: consumer, NO_COLOR: "1", FORCE_COLOR: "0", CI: "1" },
      maxBuffer: 16 << 20,
    });
    expect(stdout).toMatch(/Tests\s+2 passed \(2\)/);
    expect(leftovers()).toEqual([]);
  }, 90_000);

  it("the examples/ Worker project (Vault as an auxiliary worker of vitest-pool-workers) passes its test", async () => {
    // beforeAll's `npm pack` built sdk/dist and testing/dist, which the example resolves through the workspace links.
    const vitest = path.join(ROOT, "node_modules", "vitest", "vitest.mjs");
    const { stdout } = await run(process.execPath, [vitest, "run"], {
      cwd: path.join(ROOT, "examples", "worker-with-vault"),
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1", FORCE_COLOR: "0" },
      maxBuffer: 16 << 20,
    });
    expect(stdout).toMatch(/Tests\s+2 passed \(2\)/);
  }, 90_000);
});
