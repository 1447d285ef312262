import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VaultClient } from "../../../sdk/index";
import { asProcessEnv } from "../cli/helpers";
import { ROOT, startLocalVault, type LocalVault } from "../support/vault";

/**
 * The packages as a user gets them: every workspace package is `npm pack`ed (which builds it),
 * the tarballs are installed into a temp directory outside the repository, and only what was
 * installed there is used: the `ghostvault` bin, its MCP server, and the SDK from plain Node ESM
 * and from TypeScript under both module resolutions users have.
 */

const run = promisify(execFile);
const PACKAGES = ["sdk", "cli"];
const TSC = path.join(ROOT, "node_modules", "typescript", "bin", "tsc");

let vault: LocalVault;
let admin: VaultClient;
let packDir: string;
let consumer: string;
let bin: string;

/** A CLI environment that knows nothing of the developer's login or of this repository. */
function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return asProcessEnv({
    PATH: process.env.PATH ?? "",
    HOME: consumer,
    XDG_CONFIG_HOME: path.join(consumer, ".config"),
    NO_COLOR: "1",
    ...extra,
  });
}

/** The same, typed as the MCP transport wants it (no undefined values). */
function plain(extra: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env(extra)).filter((e): e is [string, string] => e[1] !== undefined));
}

async function credential(): Promise<{ name: string; value: string }> {
  const name = `pkg/${randomUUID().slice(0, 8)}`;
  const value = `sk-${randomUUID()}`;
  await admin.credentials.create({ name, value, default_ttl: "5m", max_ttl: "1h" });
  return { name, value };
}

beforeAll(async () => {
  packDir = await mkdtemp(path.join(tmpdir(), "ghostvault-pack-"));
  consumer = await mkdtemp(path.join(tmpdir(), "ghostvault-consumer-"));
  const packed = run(
    "npm",
    ["pack", ...PACKAGES.flatMap((p) => ["--workspace", p]), "--pack-destination", packDir, "--json"],
    {
      cwd: ROOT,
      env: { ...process.env, npm_config_loglevel: "error" },
      maxBuffer: 16 << 20,
    },
  );
  [vault] = await Promise.all([startLocalVault(), packed]);
  admin = new VaultClient({ url: vault.url, token: vault.adminToken });
  const tarballs = (JSON.parse((await packed).stdout) as { filename: string }[]).map((p) =>
    path.join(packDir, p.filename),
  );
  expect(tarballs).toHaveLength(PACKAGES.length);
  await writeFile(
    path.join(consumer, "package.json"),
    JSON.stringify({ name: "consumer", private: true, type: "module" }),
  );
  // Dependencies come from the npm cache when it has them (the repository's install filled it).
  await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", ...tarballs], {
    cwd: consumer,
    maxBuffer: 16 << 20,
  });
  bin = path.join(consumer, "node_modules", ".bin", "ghostvault");
}, 240_000);
afterAll(async () => {
  await vault?.stop();
  for (const dir of [packDir, consumer]) if (dir) await rm(dir, { recursive: true, force: true });
});

describe("packed packages", () => {
  it("each tarball holds dist/, README.md and package.json, and no TypeScript source", async () => {
    for (const p of PACKAGES) {
      const manifest = JSON.parse(
        await readFile(
          path.join(consumer, "node_modules", "@ghoststack", p === "sdk" ? "vault-sdk" : "ghostvault", "package.json"),
          "utf8",
        ),
      );
      expect(manifest.version).toMatch(/^\d+\.\d+\.\d+/);
      expect(manifest.engines.node).toBe(">=20.3");
      const { stdout } = await run("tar", [
        "-tzf",
        path.join(packDir, `ghoststack-${manifest.name.split("/")[1]}-${manifest.version}.tgz`),
      ]);
      const files = stdout.trim().split("\n");
      expect(files).toContain("package/README.md");
      expect(files.some((f) => f.startsWith("package/dist/"))).toBe(true);
      expect(files.filter((f) => /\.ts$/.test(f) && !f.endsWith(".d.ts"))).toEqual([]);
    }
  });

  it("the SDK's declarations need nothing of the Workers runtime and import only zod and each other", async () => {
    const types = path.join(consumer, "node_modules", "@ghoststack", "vault-sdk", "dist", "types");
    const { stdout } = await run("find", [types, "-name", "*.d.ts"]);
    const texts = await Promise.all(
      stdout
        .trim()
        .split("\n")
        .map((f) => readFile(f, "utf8")),
    );
    const all = texts.join("\n");
    expect(all).not.toMatch(
      /\b(D1Database|DurableObject\w*|Fetcher|ExecutionContext|KVNamespace)\b|cloudflare:|worker-configuration/,
    );
    const bare = [...all.matchAll(/from "([^".][^"]*)"/g)].map((m) => m[1]);
    expect(new Set(bare.filter((spec) => !spec!.startsWith("node:")))).toEqual(new Set(["zod"]));
  });

  it("the SDK core (index.js and what it loads) imports nothing from Node; only ./node does", async () => {
    const dist = path.join(consumer, "node_modules", "@ghoststack", "vault-sdk", "dist");
    const imports = async (file: string): Promise<string[]> =>
      [...(await readFile(file, "utf8")).matchAll(/(?:from|import)\s*\(?\s*"([^"]+)"/g)].map((m) => m[1]!);
    const seen = new Set<string>();
    const queue = [path.join(dist, "index.js")];
    for (let file = queue.pop(); file; file = queue.pop()) {
      if (seen.has(file)) continue;
      seen.add(file);
      for (const spec of await imports(file)) {
        expect(spec, `${path.relative(dist, file)} imports ${spec}`).not.toMatch(
          /^node:|^(fs|path|crypto|https?|tls|stream|os)$/,
        );
        if (spec.startsWith(".")) queue.push(path.resolve(path.dirname(file), spec));
      }
    }
    expect((await imports(path.join(dist, "node.js"))).some((spec) => spec.startsWith("node:"))).toBe(true);
  });

  it("the installed ghostvault bin: --help, and a lease against a local vault", async () => {
    const help = await run(bin, ["--help"], { env: env() });
    expect(help.stdout).toContain("Usage: ghostvault");
    const { name, value } = await credential();
    const lease = await run(bin, ["lease", name, "--ttl", "1m", "--purpose", "package test"], {
      env: env({ GHOSTVAULT_URL: vault.url, GHOSTVAULT_TOKEN: vault.adminToken }),
    });
    expect(lease.stdout).toBe(value);
    expect(lease.stderr).toContain(`of ${name} v1`);
  });

  it("the installed MCP server answers the official MCP client (tools listed, whoami called)", async () => {
    // As the README says: log in once, and the server reads the login file (no token in its environment).
    await run(bin, ["login", vault.url], { env: env({ GHOSTVAULT_TOKEN: vault.adminToken }) });
    const transport = new StdioClientTransport({
      command: bin,
      args: ["mcp"],
      env: plain({}),
      cwd: consumer,
      stderr: "pipe",
    });
    const client = new Client({ name: "package-test", version: "1.0.0" });
    await client.connect(transport, { timeout: 20_000 });
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toContain("lease_credential");
      const result = await client.callTool({ name: "whoami", arguments: {} });
      expect(JSON.stringify(result)).toContain("user:admin@test");
    } finally {
      await client.close();
    }
  });

  it("a plain Node ESM script leases through the installed SDK (try/finally + revoke, as on Node 20)", async () => {
    const { name, value } = await credential();
    await writeFile(
      path.join(consumer, "lease.mjs"),
      `import { VaultClient, VaultError } from "@ghoststack/vault-sdk";
import { createPinnedFetch } from "@ghoststack/vault-sdk/node";
const vault = new VaultClient({ url: process.env.VAULT, token: process.env.TOKEN });
const lease = await vault.lease(process.env.NAME, { ttl: "1m", purpose: "package test" });
try {
  console.log(JSON.stringify({ value: lease.value, pinning: typeof createPinnedFetch }));
} finally {
  await lease.revoke();
}
const missing = await vault.lease("pkg/none-such").catch((e) => e);
console.log(JSON.stringify({ error: missing instanceof VaultError, code: missing.code }));
`,
    );
    const { stdout } = await run(process.execPath, ["lease.mjs"], {
      cwd: consumer,
      env: env({ VAULT: vault.url, TOKEN: vault.adminToken, NAME: name }),
    });
    const [first, second] = stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(first).toEqual({ value, pinning: "function" });
    expect(second).toEqual({ error: true, code: "not_found" });
    const leases = await admin.leases.list({ credential: name });
    expect(leases.items.map((l) => l.state)).toEqual(["revoked"]);
  });

  it.each([
    ["NodeNext", { module: "NodeNext", moduleResolution: "NodeNext" }],
    ["Bundler", { module: "ESNext", moduleResolution: "Bundler" }],
  ])(
    "a TypeScript consumer type-checks against the installed SDK (moduleResolution %s, skipLibCheck off)",
    async (mode, options) => {
      const dir = path.join(consumer, `ts-${mode}`);
      await run("mkdir", ["-p", dir]);
      await writeFile(
        path.join(dir, "consumer.ts"),
        `import { VaultClient, VaultError, type LeaseOptions } from "@ghoststack/vault-sdk";
import { vaultClientWithPins } from "@ghoststack/vault-sdk/node";
const vault = new VaultClient({ url: "https://vault.example.com", token: "t" });
const options: LeaseOptions = { ttl: "10m", purpose: "typecheck" };
export async function value(): Promise<string> {
  const lease = await vault.lease("openai", options);
  try { return lease.value; } finally { await lease.revoke(); }
}
export const pinned: VaultClient = vaultClientWithPins({ url: "https://vault.example.com", token: "t", pins: ["x"] });
export const isVaultError = (e: unknown): boolean => e instanceof VaultError && typeof e.code === "string";
// @ts-expect-error the types are real, not any: an unknown lease option is refused
export const wrong: LeaseOptions = { ttl: "1m", nonsense: true };
`,
      );
      const tsconfig = {
        compilerOptions: {
          ...options,
          target: "ES2022",
          lib: ["ES2023"],
          types: ["node"],
          typeRoots: [path.join(ROOT, "node_modules", "@types")],
          strict: true,
          skipLibCheck: false,
          noEmit: true,
        },
        files: ["consumer.ts"],
      };
      await writeFile(path.join(dir, "tsconfig.json"), JSON.stringify(tsconfig));
      const result = await run(process.execPath, [TSC, "-p", dir]).catch((e: { stdout: string }) => ({
        stdout: e.stdout,
        failed: true,
      }));
      expect(result.stdout).toBe("");
    },
  );
});
