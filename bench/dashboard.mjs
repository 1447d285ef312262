// `npm run bench -- --only dashboard` (or `node bench/dashboard.mjs [--quick]`): server time to
// render the dashboard's credentials list with 1,000 credentials and its audit page with 100,000
// entries (issue 14 "Performance", goal p50 ≤ 20 ms each), beside the JSON API answering the same
// page in the same run (the baseline: the ratio is what rendering HTML adds). One request at a
// time over loopback keep-alive, so the latency is the server's time plus a loopback round trip.
// Own vault started like run.mjs does (TEST_HOOKS for lease seeding). Bounded: 3 runs of at most
// 200 requests per target (50 with --quick). Writes bench/results/dashboard.json.

import path from "node:path";
import { performance } from "node:perf_hooks";
import { agent, request, summarize } from "./lib/load.mjs";
import { elapsedLog, machineFacts, pinToCore0, runOnOwnVault } from "./lib/standalone.mjs";
import { BenchVault, ROOT, treeState } from "./lib/vault.mjs";
import { createCredential, goal, med, newTenant, parallel, round, seed } from "./scenarios/common.mjs";

const quick = process.argv.includes("--quick");
const settings = {
  runs: 3,
  requests: quick ? 50 : 200,
  warmup: quick ? 10 : 30,
  credentials: 1_000,
  auditEntries: quick ? 10_000 : 100_000,
};
const started = Date.now();
const log = elapsedLog(started);

const pinned = pinToCore0();
const vault = new BenchVault({ core: 1 });
for (const [signal, code] of [
  ["SIGINT", 130],
  ["SIGTERM", 143],
])
  process.on(signal, () => void vault.stop().finally(() => process.exit(code)));
const ag = agent(1);

/** Signs in to the dashboard with an API token; returns the session cookie header. */
async function signIn(url, token) {
  const res = await fetch(`${url}/ui/login`, {
    method: "POST",
    headers: { origin: url, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token }).toString(),
    redirect: "manual",
  });
  const cookie = res.headers.getSetCookie()[0]?.split(";")[0];
  if (res.status !== 303 || !cookie) throw new Error(`sign-in answered ${res.status}`);
  return cookie;
}

/** Sequential GETs of one target; latencies of the counted ones (after `warmup`). */
async function sample(url, target) {
  const lat = [];
  for (let i = 0; i < settings.warmup + settings.requests; i++) {
    const t0 = performance.now();
    const res = await request(url, target, i, ag, true);
    const ms = performance.now() - t0;
    if (res.status !== 200)
      throw new Error(`${target.path} answered ${res.status}: ${res.body?.slice(0, 200) ?? res.error}`);
    if (target.mustContain && !res.body.includes(target.mustContain))
      throw new Error(`${target.path} did not render ${target.mustContain}`);
    if (i >= settings.warmup) lat.push(ms);
  }
  return summarize(lat);
}

/** Dashboard page vs API page, `settings.runs` times, alternating so drift hits both alike. */
async function compare(url, name, page, api) {
  const runs = [];
  for (let r = 0; r < settings.runs; r++) {
    const p = await sample(url, page);
    const a = await sample(url, api);
    runs.push({
      pageP50: round(p.p50, 2),
      pageP90: round(p.p90, 2),
      apiP50: round(a.p50, 2),
      ratio: round(p.p50 / a.p50, 3),
    });
    log(
      `  ${name} run ${r + 1}: page p50 ${p.p50.toFixed(2)} ms (p90 ${p.p90.toFixed(2)}), API p50 ${a.p50.toFixed(2)} ms`,
    );
  }
  return {
    runs,
    median: {
      pageP50: med(runs, (x) => x.pageP50),
      apiP50: med(runs, (x) => x.apiP50),
      ratio: med(runs, (x) => x.ratio),
    },
  };
}

const result = {
  startedAt: new Date(started).toISOString(),
  source: treeState(),
  machine: machineFacts(pinned),
  settings,
};
const file = path.join(ROOT, "bench", "results", quick ? "dashboard-quick.json" : "dashboard.json");
await runOnOwnVault({
  vault,
  result,
  started,
  log,
  file,
  scenario: async () => {
    const ctx = { url: vault.url, vault, log };
    const creds = await newTenant(ctx, "dash-creds", { credential: false });
    await parallel(
      Array.from({ length: settings.credentials }, (_, i) => `app/service-${String(i).padStart(4, "0")}`),
      8,
      (name) => createCredential(ctx, creds, name),
    );
    log(`${settings.credentials} credentials created`);
    const audit = await newTenant(ctx, "dash-audit");
    const seedSeconds = await seed(ctx, audit, settings.auditEntries, Date.now() + 3 * 3600_000);
    log(`${settings.auditEntries} leases (each with its audit entry) seeded in ${seedSeconds.toFixed(1)} s`);
    const credsCookie = await signIn(vault.url, creds.token);
    const auditCookie = await signIn(vault.url, audit.token);
    const bearer = (t) => ({ authorization: `Bearer ${t.token}` });
    result.credentialsList = await compare(
      vault.url,
      "credentials list",
      { method: "GET", path: "/ui/credentials", headers: { cookie: credsCookie }, mustContain: "app/service-0000" },
      { method: "GET", path: "/v1/credentials?limit=50", headers: bearer(creds) },
    );
    result.auditPage = await compare(
      vault.url,
      "audit page",
      { method: "GET", path: "/ui/audit", headers: { cookie: auditCookie }, mustContain: "lease.created" },
      { method: "GET", path: "/v1/audit?limit=100", headers: bearer(audit) },
    );
    result.goals = {
      "credentials list (1,000 credentials) page p50 ms": goal(result.credentialsList.median.pageP50, "≤", 20),
      [`audit page (${settings.auditEntries.toLocaleString("en")} entries) page p50 ms`]: goal(
        result.auditPage.median.pageP50,
        "≤",
        20,
      ),
    };
    return result.goals;
  },
});
