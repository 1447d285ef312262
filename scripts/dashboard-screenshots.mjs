#!/usr/bin/env node
// Screenshots of the dashboard's main pages for the README (docs/screenshots/*.png, 1280×800).
// Starts `npm run dev` against private temporary state, fills it with example data through the
// API, signs in with Debian's Chromium (playwright-core, never a downloaded browser) and captures
// each page; then stops the dev server and removes the state.
//   node scripts/dashboard-screenshots.mjs
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const OUT = path.join(ROOT, "docs", "screenshots");
const PORT = 18000 + Math.floor(Math.random() * 1000);
const dir = mkdtempSync(path.join(tmpdir(), "ghostvault-screenshots-"));

const dev = spawn(process.execPath, ["dev/start.mjs"], {
  cwd: ROOT,
  detached: true,
  env: {
    ...process.env,
    WRANGLER_SEND_METRICS: "false",
    GHOSTVAULT_PORT: String(PORT),
    GHOSTVAULT_PERSIST_DIR: path.join(dir, "state"),
    GHOSTVAULT_STATE_DIR: path.join(dir, "gv"),
  },
  stdio: ["ignore", "pipe", "pipe"],
});
let output = "";
dev.stdout.setEncoding("utf8").on("data", (c) => (output += c));
dev.stderr.setEncoding("utf8").on("data", (c) => (output += c));

async function stopDev() {
  try {
    process.kill(-dev.pid, "SIGINT");
    await new Promise((r) => setTimeout(r, 3000));
    process.kill(-dev.pid, "SIGKILL");
  } catch {
    // Already gone.
  }
  rmSync(dir, { recursive: true, force: true });
}

async function banner() {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (output.includes("Press Ctrl-C to stop")) {
      const field = (label) => new RegExp(`${label}:\\s+(\\S+)`).exec(output)?.[1];
      return { url: field("URL"), token: field("Admin token") };
    }
    if (dev.exitCode !== null) throw new Error(`dev server exited:\n${output}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`no banner:\n${output}`);
}

try {
  const { url, token } = await banner();
  const api = async (method, p, body) => {
    const res = await fetch(`${url}${p}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${await res.text()}`);
    return res.status === 204 ? null : res.json();
  };
  // Example data: a few credentials with tags, an ACL using a team, leases by two identities.
  const ids = {};
  for (const [name, tags, description] of [
    ["prod/db-url", ["prod", "postgres"], "Primary database, read-write"],
    ["prod/stripe-key", ["prod", "payments"], "Stripe secret key"],
    ["staging/openai-key", ["staging", "ai"], "OpenAI key for the staging agents"],
    ["ci/deploy-token", ["ci"], "Cloudflare API token used by deploys"],
  ])
    ids[name] = (
      await api("POST", "/v1/credentials", { name, value: `example-${crypto.randomUUID()}`, tags, description })
    ).id;
  await api("PUT", "/v1/teams/agents", { members: ["agent:ci-*", "agent:review-bot"] });
  const rules = [
    { effect: "allow", identity: "team:agents", permissions: ["use"] },
    { effect: "allow", identity: "user:dev@localhost" },
  ];
  await api("PUT", `/v1/credentials/${ids["prod/db-url"]}/acl`, { rules, agent_visible: false });
  const agent = await api("POST", "/v1/tokens", { name: "ci agent", role: "user", identity: "agent:ci-deploy" });
  for (const [who, cred, purpose] of [
    [token, "prod/db-url", "migration"],
    [agent.token, "ci/deploy-token", "deploy #4312"],
    [agent.token, "staging/openai-key", "eval run"],
  ]) {
    const res = await fetch(`${url}/v1/leases`, {
      method: "POST",
      headers: { authorization: `Bearer ${who}`, "content-type": "application/json" },
      body: JSON.stringify({ credential: cred, purpose, agent: { name: "claude-code", model: "example" } }),
    });
    if (!res.ok) throw new Error(`lease ${cred}: ${res.status} ${await res.text()}`);
  }

  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
    ],
  });
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  mkdirSync(OUT, { recursive: true });
  await page.goto(`${url}/ui/login`);
  await page.screenshot({ path: path.join(OUT, "sign-in.png") });
  await page.getByLabel(/API token/).fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(`${url}/ui/credentials`);
  const shots = [
    ["credentials.png", "/ui/credentials"],
    ["leases.png", "/ui/leases"],
    ["audit.png", "/ui/audit?type=lease.created"],
    ["audit-chain.png", "/ui/audit/chain"],
    ["tokens.png", "/ui/tokens"],
    ["kek.png", "/ui/kek"],
  ];
  for (const [file, p] of shots) {
    await page.goto(`${url}${p}`);
    await page.screenshot({ path: path.join(OUT, file) });
  }
  await page.goto(`${url}/ui/credentials`);
  await page.getByRole("link", { name: "prod/db-url" }).click();
  await page.getByLabel("Identity", { exact: true }).fill("agent:ci-deploy");
  await page.getByRole("button", { name: "Check" }).click();
  await page.getByRole("heading", { name: "Versions" }).scrollIntoViewIfNeeded();
  await page.evaluate(() => document.getElementById("acl-check")?.scrollIntoView({ block: "end" }));
  await page.screenshot({ path: path.join(OUT, "credential.png"), fullPage: false });
  await browser.close();
  console.log(`wrote ${shots.length + 2} screenshots to ${path.relative(process.cwd(), OUT)}`);
} finally {
  await stopDev();
}
