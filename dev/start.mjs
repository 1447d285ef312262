// `npm run dev`: a working local Vault in one command, in the spirit of `vault server -dev`.
//
// 1. generates git-ignored `.dev.vars` secrets on first start (dev/dev-vars.mjs);
// 2. applies the D1 migrations to the local database;
// 3. runs `wrangler dev` with the vault, the KMS emulator and an audit witness (dev/witness) in one
//    process group, the vault configured to submit its checkpoints to the witness;
// 4. waits for /v1/health;
// 5. reuses the token in .ghostvault/dev.json, or bootstraps a "dev" tenant and saves it;
// 6. prints how to use it, then forwards wrangler's output until Ctrl-C.
//
// `npm run dev -- --https` serves TLS instead of plain http (wrangler --local-protocol https) with a
// local CA and server certificate from dev/dev-tls.mjs, and prints the certificate's SPKI pin.
//
// Environment: GHOSTVAULT_PORT (8787), GHOSTVAULT_PERSIST_DIR (.wrangler/state),
// GHOSTVAULT_STATE_DIR (.ghostvault), GHOSTVAULT_KMS (aws | gcp | azure: which KMS provider the
// vault uses, each against its local emulator; default aws).

import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import https from "node:https";
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  EMULATOR_CONFIGS,
  PROVIDER_VARS,
  ensureDevVars,
  ensureProviderDevVars,
  ensureWitnessDevVars,
} from "./dev-vars.mjs";
import { ensureDevCertificate } from "./dev-tls.mjs";
import { killGroupNow, spawnGroup, stopGroup } from "./process-group.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const HOST = "127.0.0.1";
const PORT = Number(process.env.GHOSTVAULT_PORT ?? 8787);
const KMS = process.env.GHOSTVAULT_KMS ?? "aws";
// Each provider keeps its own local state: a tenant's KEK wrapped by one emulator cannot be
// unwrapped by another, so switching providers must not reuse the same tenant.
const SUFFIX = KMS === "aws" ? "" : `-${KMS}`;
const PERSIST_DIR = path.resolve(ROOT, process.env.GHOSTVAULT_PERSIST_DIR ?? `.wrangler/state${SUFFIX}`);
const STATE_DIR = path.resolve(ROOT, process.env.GHOSTVAULT_STATE_DIR ?? ".ghostvault");
const STATE_FILE = path.join(STATE_DIR, `dev${SUFFIX}.json`);
const ARGS = process.argv.slice(2);
const HTTPS = ARGS.includes("--https");
const URL_BASE = `${HTTPS ? "https" : "http"}://${HOST}:${PORT}`;
// The first start bundles both Workers and boots workerd; on a slow two-core machine that is ~20 s.
const STARTUP_TIMEOUT_MS = 120_000;
const WRANGLER_BIN = path.join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
// No telemetry from a developer's machine unless they opt in.
const CHILD_ENV = { ...process.env, WRANGLER_SEND_METRICS: "false" };

/** The last lines wrangler printed, shown when something fails. */
const tail = [];
let forwarding = false;
/** @type {import("node:child_process").ChildProcess | undefined} */
let wrangler;
let stopping = false;
/** With --https: the local certificate (dev-tls.mjs), whose CA this script's own requests trust. */
let tls;

/**
 * fetch() to the dev server. Over https it goes through node:https trusting only the local CA
 * (Node's fetch cannot be given a CA without a dependency); answers as a standard Response.
 */
function devFetch(url, init = {}) {
  if (!HTTPS) return fetch(url, init);
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      { method: init.method ?? "GET", headers: init.headers, ca: tls.ca, signal: init.signal },
      (res) => {
        const chunks = [];
        res.on("data", (chunk) => chunks.push(chunk));
        res.on("end", () => resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 0 })));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(init.body);
  });
}

function collect(stream, out) {
  let partial = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk) => {
    // Until the banner is out, wrangler's chatter would bury it; keep it for errors instead.
    if (forwarding) out.write(chunk);
    const lines = (partial + chunk).split("\n");
    partial = lines.pop() ?? "";
    tail.push(...lines);
    tail.splice(0, Math.max(0, tail.length - 40));
  });
}

class StartError extends Error {}

function fail(message) {
  throw new StartError(message);
}

/** Runs wrangler to completion (used for the migrations), with the same group handling. */
function runWrangler(args) {
  return new Promise((resolve, reject) => {
    const child = spawnGroup(process.execPath, [WRANGLER_BIN, ...args], { cwd: ROOT, env: CHILD_ENV });
    wrangler = child;
    collect(child.stdout, process.stdout);
    collect(child.stderr, process.stderr);
    child.on("error", reject);
    child.on("exit", async (code) => {
      // Cheap insurance: nothing of its group may still hold the SQLite files when wrangler dev opens them.
      await stopGroup(child.pid, 2000);
      wrangler = undefined;
      if (code === 0) resolve();
      else reject(new StartError(`wrangler ${args.slice(0, 3).join(" ")} exited with ${code}`));
    });
  });
}

/** Fails early and clearly if the port is taken: otherwise another server could answer /v1/health. */
function checkPortFree() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", (error) =>
      reject(
        error.code === "EADDRINUSE"
          ? new StartError(`${HOST}:${PORT} is in use (another dev server?); stop it or set GHOSTVAULT_PORT`)
          : error,
      ),
    );
    probe.listen(PORT, HOST, () => probe.close(resolve));
  });
}

async function waitForHealth() {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (!wrangler || wrangler.exitCode !== null) fail("wrangler dev exited before the vault came up");
    try {
      const res = await devFetch(`${URL_BASE}/v1/health`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  fail(`GET ${URL_BASE}/v1/health did not answer 200 within ${STARTUP_TIMEOUT_MS / 1000} s`);
}

/** The saved state, or undefined if there is none or it is unreadable (it is ours to rewrite). */
function readState() {
  if (!existsSync(STATE_FILE)) return undefined;
  try {
    const saved = JSON.parse(readFileSync(STATE_FILE, "utf8"));
    if (typeof saved?.token === "string") return saved;
  } catch {
    // Fall through: a half-written or hand-edited file.
  }
  console.log(`Ignoring unreadable ${STATE_FILE}; bootstrapping a new tenant.`);
  return undefined;
}

/** The saved token if it still authenticates, else a freshly bootstrapped tenant (saved, 0600). */
async function ensureTenant(bootstrapSecret) {
  const saved = readState();
  if (saved) {
    const res = await devFetch(`${URL_BASE}/v1/whoami`, { headers: { authorization: `Bearer ${saved.token}` } });
    if (res.ok) return { ...saved, url: URL_BASE, reused: true };
    // 401/403: the local database was wiped or the token revoked; anything else is a real fault
    // that a new tenant would only hide.
    if (res.status !== 401 && res.status !== 403) fail(`GET /v1/whoami answered ${res.status}: ${await res.text()}`);
    console.log(`Saved token in ${STATE_FILE} is no longer valid (${res.status}); bootstrapping a new tenant.`);
  }
  const res = await devFetch(`${URL_BASE}/v1/bootstrap`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-bootstrap-secret": bootstrapSecret },
    body: JSON.stringify({ tenant_name: "dev", admin_identity: "user:dev@localhost" }),
  });
  if (res.status !== 201) fail(`POST /v1/bootstrap answered ${res.status}: ${await res.text()}`);
  const body = await res.json();
  const state = { url: URL_BASE, tenant_id: body.tenant.id, token: body.admin_token.token };
  mkdirSync(path.dirname(STATE_FILE), { recursive: true, mode: 0o700 });
  writeFileSync(STATE_FILE, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  return { ...state, reused: false };
}

function printBanner({ tenant_id, token, reused }, witnessVkey) {
  const stateFile = path.relative(process.cwd(), STATE_FILE) || STATE_FILE;
  console.log(`
==> Vault dev server is running (${reused ? "reusing saved tenant" : "new tenant bootstrapped"})

    URL:          ${URL_BASE}
    Tenant ID:    ${tenant_id}
    Admin token:  ${token}

    Try it (paste into another shell; the README's examples use these variables):
      export VAULT=${URL_BASE} TOKEN=${token} TENANT=${tenant_id}
      curl -s -H "Authorization: Bearer $TOKEN" "$VAULT/v1/whoami"
      curl -s -X POST -H "Authorization: Bearer $TOKEN" -H "content-type: application/json" \\
        -d '{"name":"demo/api-key","value":"s3cr3t"}' "$VAULT/v1/credentials"

    The token is also stored in ${stateFile}.${tlsBanner()}
    KMS provider: ${KMS} (GHOSTVAULT_KMS=aws|gcp|azure), against its local emulator.
    Audit witness (dev/witness) cosigns the vault's checkpoints; its verifier key:
      ${witnessVkey}
    DEVELOPMENT MODE: the KMS is an emulator with its root key on disk. Do not store real secrets.
    Press Ctrl-C to stop. Wrangler's log follows.
`);
}

/** With --https: what a client needs to trust and pin the local certificate. */
function tlsBanner() {
  if (!HTTPS) return "";
  const relative = path.relative(process.cwd(), tls.caPath);
  const caFile = relative.startsWith("..") ? tls.caPath : relative;
  return `

    TLS (--https): a local CA signed this server's certificate (valid 30 days, remade when due).
    CA file:      ${caFile}
    SPKI pin:     ${tls.pin}
    CA pin:       ${tls.caPin}
      export NODE_EXTRA_CA_CERTS=${tls.caPath} GHOSTVAULT_PINS=${tls.pin}
      curl -s --cacert ${caFile} -H "Authorization: Bearer $TOKEN" "$VAULT/v1/whoami"
    SDK: vaultClientWithPins({ url, token, pins: ["${tls.pin}"], ca: readFileSync("${caFile}") })`;
}

/** Stops wrangler's whole process group, then exits. Safe to call more than once. */
async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  await stopGroup(wrangler?.pid);
  process.exit(code);
}

async function main() {
  if (!Number.isInteger(PORT) || PORT < 1 || PORT > 65535)
    fail(`GHOSTVAULT_PORT must be a TCP port, not ${process.env.GHOSTVAULT_PORT}`);
  if (!existsSync(WRANGLER_BIN)) fail("wrangler is not installed; run `npm ci` first");
  if (!Object.hasOwn(PROVIDER_VARS, KMS)) fail(`GHOSTVAULT_KMS must be aws, gcp or azure, not ${KMS}`);
  const unknown = ARGS.filter((a) => a !== "--https");
  if (unknown.length > 0) fail(`unknown argument ${unknown[0]}; the only one is --https`);
  if (HTTPS) {
    try {
      tls = ensureDevCertificate(STATE_DIR);
    } catch (error) {
      fail(error.message);
    }
    if (tls.created) console.log(`Made a local CA and server certificate in ${path.dirname(tls.caPath)}`);
  }
  const { vars, created } = ensureDevVars(ROOT);
  created.push(...ensureProviderDevVars(ROOT, KMS));
  const witness = ensureWitnessDevVars(ROOT, vars);
  created.push(...witness.created);
  for (const file of created) console.log(`Generated ${path.relative(ROOT, file)} (mode 0600, git-ignored)`);

  await checkPortFree();
  const persist = ["--persist-to", PERSIST_DIR];
  const shownDir = PERSIST_DIR.startsWith(ROOT + path.sep) ? path.relative(ROOT, PERSIST_DIR) : PERSIST_DIR;
  console.log(`Applying D1 migrations (local state in ${shownDir}) ...`);
  // stdin is closed, so wrangler treats the session as non-interactive and skips its confirm prompt.
  await runWrangler(["d1", "migrations", "apply", "DB", "--local", "-c", "wrangler.toml", ...persist]);

  console.log(`Starting wrangler dev on ${URL_BASE} ...`);
  console.log(`KMS provider: ${KMS} (emulator ${EMULATOR_CONFIGS[KMS]})`);
  const args = [
    "dev",
    "-c",
    "wrangler.toml",
    "-c",
    EMULATOR_CONFIGS[KMS],
    "-c",
    "dev/witness/wrangler.toml",
    "--ip",
    HOST,
    "--port",
    String(PORT),
  ];
  for (const [key, value] of Object.entries(PROVIDER_VARS[KMS])) args.push("--var", `${key}:${value}`);
  args.push("--var", `AUDIT_WITNESSES:${witness.auditWitnesses}`);
  // The KMS emulators and the witness are service bindings inside the same wrangler process: no TLS needed there.
  if (HTTPS) args.push("--local-protocol", "https", "--https-key-path", tls.keyPath, "--https-cert-path", tls.certPath);
  args.push(...persist, "--show-interactive-dev-session=false");
  wrangler = spawnGroup(process.execPath, [WRANGLER_BIN, ...args], { cwd: ROOT, env: CHILD_ENV });
  collect(wrangler.stdout, process.stdout);
  collect(wrangler.stderr, process.stderr);
  wrangler.on("exit", (code, signal) => {
    if (stopping || !forwarding) return; // during startup, waitForHealth reports it
    console.error(`wrangler dev exited (${signal ?? code}); stopping.`);
    void shutdown(1);
  });

  await waitForHealth();
  const tenant = await ensureTenant(vars.BOOTSTRAP_SECRET);
  printBanner(tenant, witness.vkey);
  forwarding = true;
}

for (const [signal, code] of [
  ["SIGINT", 130],
  ["SIGTERM", 143],
  ["SIGHUP", 129],
]) {
  process.on(signal, () => void shutdown(code));
}
// If we exit by any other path, do not leave workerd holding the port.
process.on("exit", () => killGroupNow(wrangler?.pid));

main().catch((error) => {
  console.error(`\nVault dev server failed to start: ${error instanceof StartError ? error.message : error.stack}`);
  if (tail.length > 0) console.error(`\nLast lines from wrangler:\n${tail.join("\n")}`);
  void shutdown(1);
});
