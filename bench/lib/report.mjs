// Writes bench/results/<mode>.json and bench/RESULTS.md with hand-written SVG charts.

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { proxySection } from "../scenarios/proxy.mjs";
import { testVaultSection } from "../scenarios/testvault.mjs";
import { merkleSection } from "../scenarios/merkle.mjs";

const BENCH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const RESULTS = path.join(BENCH, "results");

/** Published reference figures (issue 6), printed beside ours. Not comparable setups: context only. */
export const REFERENCES = [
  {
    what: "HashiCorp vault-benchmark example (local): transit encrypt",
    figure: "1,785 req/s, p99 1.82 ms",
    source:
      "hashicorp/vault-benchmark README example output (github.com/hashicorp/vault-benchmark), as quoted in issue 6",
  },
  {
    what: "HashiCorp vault-benchmark example (local): KV v2 read",
    figure: "8,417 req/s, p99 1.54 ms",
    source: "hashicorp/vault-benchmark README example output, as quoted in issue 6",
  },
  {
    what: "OpenBao 2.0.2 KV v2 write (vault-benchmark, 32 workers, raft)",
    figure: "140 req/s (p99 668 ms)",
    source: "openbao/openbao pull request #634, benchmark of v2.0.2 (github.com/openbao/openbao/pull/634)",
  },
  {
    what: "Cloudflare Durable Object, one object",
    figure: "soft limit ≈ 1,000 req/s",
    source:
      'developers.cloudflare.com/durable-objects/reference/faq/ ("How much work can a single Durable Object do?")',
  },
  {
    what: "HashiCorp Vault leases",
    figure: "advisory limit 256k leases",
    source: "HashiCorp Vault documentation on lease limits, as quoted in issue 6",
  },
];

const f = (x, d = 1) =>
  x === null || x === undefined
    ? "–"
    : Number(x).toLocaleString("en", { maximumFractionDigits: d, minimumFractionDigits: 0 });
const met = (g) => (g.met === null ? "n/a" : g.met ? "**met**" : "**not met**");
const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;");

/** Throughput and p99 against active-lease count (log x axis), two panels. */
function scalingSvg(levels) {
  const W = 640,
    H = 260,
    pad = { l: 60, r: 20, t: 28, b: 42 };
  const xs = levels.map((l) => Math.log10(l.level));
  const x0 = Math.floor(Math.min(...xs)),
    x1 = Math.ceil(Math.max(...xs));
  const panel = (ox, w, key, label, color) => {
    const ys = levels.map((l) => l[key]);
    const yMax = Math.max(...ys) * 1.2 || 1;
    const px = (v) => ox + pad.l + ((v - x0) / (x1 - x0 || 1)) * (w - pad.l - pad.r);
    const py = (v) => pad.t + (1 - v / yMax) * (H - pad.t - pad.b);
    const pts = levels.map((l, i) => `${px(xs[i]).toFixed(1)},${py(ys[i]).toFixed(1)}`);
    let s = `<text x="${ox + w / 2}" y="16" text-anchor="middle" font-weight="bold">${label}</text>`;
    s += `<line x1="${ox + pad.l}" y1="${H - pad.b}" x2="${ox + w - pad.r}" y2="${H - pad.b}" stroke="#333"/><line x1="${ox + pad.l}" y1="${pad.t}" x2="${ox + pad.l}" y2="${H - pad.b}" stroke="#333"/>`;
    for (let e = x0; e <= x1; e++)
      s += `<text x="${px(e)}" y="${H - pad.b + 16}" text-anchor="middle">10^${e}</text><line x1="${px(e)}" y1="${H - pad.b}" x2="${px(e)}" y2="${H - pad.b + 4}" stroke="#333"/>`;
    for (let k = 0; k <= 4; k++) {
      const v = (yMax * k) / 4;
      s += `<text x="${ox + pad.l - 6}" y="${py(v) + 4}" text-anchor="end">${f(v, v < 10 ? 1 : 0)}</text><line x1="${ox + pad.l}" y1="${py(v)}" x2="${ox + w - pad.r}" y2="${py(v)}" stroke="#ddd"/>`;
    }
    s += `<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.join(" ")}"/>`;
    levels.forEach(
      (l, i) =>
        (s += `<circle cx="${px(xs[i])}" cy="${py(ys[i])}" r="3.5" fill="${color}"/><text x="${px(xs[i])}" y="${py(ys[i]) - 8}" text-anchor="middle">${f(ys[i], 1)}</text>`),
    );
    s += `<text x="${ox + w / 2}" y="${H - 6}" text-anchor="middle">active-lease level in the tenant (log scale; actual count in RESULTS.md)</text>`;
    return s;
  };
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W * 2}" height="${H}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="white"/>
${panel(0, W, "rps", "Lease issuance throughput (req/s, closed loop)", "#1f77b4")}
${panel(W, W, "p99", "Lease issuance p99 (ms, closed loop)", "#d62728")}
</svg>\n`;
}

/** Latency distribution: log-binned histograms of open-loop lease and d1-read latency. */
function latencySvg(histograms) {
  const W = 720,
    H = 300,
    pad = { l: 50, r: 20, t: 30, b: 46 };
  const series = [
    ["lease", "#1f77b4"],
    ["d1-read", "#2ca02c"],
  ].filter(([k]) => histograms[k]);
  const { edges } = histograms.lease;
  const frac = (h) => {
    const n = h.counts.reduce((a, b) => a + b, 0) || 1;
    return h.counts.map((c) => c / n);
  };
  const yMax = Math.max(...series.flatMap(([k]) => frac(histograms[k]))) * 1.1 || 1;
  const lx0 = Math.log10(edges[0]),
    lx1 = Math.log10(edges[edges.length - 1]);
  const px = (v) => pad.l + ((Math.log10(v) - lx0) / (lx1 - lx0)) * (W - pad.l - pad.r);
  const py = (v) => pad.t + (1 - v / yMax) * (H - pad.t - pad.b);
  let s = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="white"/>
<text x="${W / 2}" y="18" text-anchor="middle" font-weight="bold">Latency distribution, open loop at 50% of the lease maximum (share of requests per bin)</text>
<line x1="${pad.l}" y1="${H - pad.b}" x2="${W - pad.r}" y2="${H - pad.b}" stroke="#333"/><line x1="${pad.l}" y1="${pad.t}" x2="${pad.l}" y2="${H - pad.b}" stroke="#333"/>`;
  for (const v of [0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000])
    s += `<text x="${px(v)}" y="${H - pad.b + 16}" text-anchor="middle">${v}</text><line x1="${px(v)}" y1="${pad.t}" x2="${px(v)}" y2="${H - pad.b}" stroke="#eee"/>`;
  for (let k = 0; k <= 4; k++)
    s += `<text x="${pad.l - 6}" y="${py((yMax * k) / 4) + 4}" text-anchor="end">${Math.round((yMax * k * 100) / 4)}%</text>`;
  series.forEach(([k, color], j) => {
    const fr = frac(histograms[k]);
    const pts = fr.map((v, i) => `${px(Math.sqrt(edges[i] * edges[i + 1])).toFixed(1)},${py(v).toFixed(1)}`);
    s += `<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.join(" ")}"/>`;
    s += `<rect x="${W - 150}" y="${pad.t + 4 + j * 16}" width="12" height="4" fill="${color}"/><text x="${W - 132}" y="${pad.t + 10 + j * 16}">${k}</text>`;
  });
  s += `<text x="${W / 2}" y="${H - 8}" text-anchor="middle">latency, ms (log scale), measured from each request's due time</text>\n</svg>\n`;
  return s;
}

function goalRows(results) {
  const rows = [];
  for (const [name, s] of Object.entries(results.scenarios))
    for (const [g, v] of Object.entries(s.goals ?? {}))
      rows.push(`| ${name} | ${esc(g)} | ${v.value ?? "–"} | ${v.goal} | ${met(v)} |`);
  return rows;
}

function markdown(r, charts) {
  const s = r.scenarios,
    m = r.machine;
  const L = [];
  L.push("# Benchmark results", "");
  L.push(
    `Generated by \`npm run bench${r.mode === "quick" ? " -- --quick" : ""}\` on ${r.startedAt} (${r.totalSeconds} s). Source: ${r.source.kind === "head" ? `snapshot of commit ${r.source.commit.slice(0, 12)} plus the bench routes` : `working tree at ${r.source.commit.slice(0, 12)}${r.source.uncommittedProductFiles.length ? ` with ${r.source.uncommittedProductFiles.length} uncommitted product files` : ""}`}.`,
  );
  L.push(
    "",
    `Machine: ${m.nproc} cores (${m.cpuModel}), ${m.memGiB} GiB, Linux ${m.kernel}; Node ${m.node}, wrangler ${m.wrangler}, workerd ${m.workerd}. Load generator pinned to core ${m.pinned?.loadGenerator ?? "–"}, workerd to core ${m.pinned?.workerd ?? "–"}. **Shared, noisy machine**: 1-minute load average ${m.loadAvgAtStart[0]} at start and ${m.loadAvgAtEnd?.[0]} at end (other sessions' test runs), so absolute figures are low and only same-run ratios mean anything. Each scenario ran ${r.settings.runs} times; figures are medians. DevTools Network events ${r.settings.devtoolsNetwork ?? "on (not yet switched off)"} (bench/lib/devtools.mjs).`,
    "",
  );
  if (r.error) L.push(`**The run stopped early:** \`${esc(r.error.split("\n")[0])}\``, "");
  L.push("## Goals", "", "| scenario | measure | result | goal | |", "|---|---|---|---|---|", ...goalRows(r), "");
  if (s.leaseVsBaselines) {
    L.push(
      "## 1. Lease issuance vs baselines (closed loop, concurrency " + s.leaseVsBaselines.concurrency + ")",
      "",
      "| path | req/s | p50 ms | p99 ms | server CPU ms/req | server's share of its core | client CPU |",
      "|---|---|---|---|---|---|---|",
    );
    for (const [k, v] of Object.entries(s.leaseVsBaselines.median))
      L.push(
        `| ${k} | ${f(v.rps)} | ${f(v.p50, 2)} | ${f(v.p99, 2)} | ${f(v.serverCpuMsPerReq, 2)} | ${f(v.serverCpuShare * 100, 0)}% | ${f(v.clientCpu * 100, 0)}% |`,
      );
    L.push(
      "",
      "Server CPU per request (CPU seconds of the whole wrangler/workerd group ÷ requests) is steadier than req/s when other load takes the core; the same ratios computed from it:",
      "",
      ...Object.entries(s.leaseVsBaselines.cpuRatios ?? {}).map(([k, v]) => `- ${k}: ${f(v, 3)}`),
      "",
    );
  }
  if (s.leaseOpenLoop) {
    const o = s.leaseOpenLoop;
    L.push(
      `## 2. Latency at 50% of the lease maximum (open loop, ${o.rate} req/s, ${o.durationMs / 1000} s per run)`,
      "",
      "| path | p50 ms | p99 ms |",
      "|---|---|---|",
    );
    for (const [k, v] of Object.entries(o.median)) L.push(`| ${k} | ${f(v.p50, 2)} | ${f(v.p99, 2)} |`);
    L.push("", `![latency distribution](${charts.latency})`, "");
  }
  if (s.credentialWrites) {
    const c = s.credentialWrites;
    L.push("## 3. Credential writes (closed loop)", "", "| operation | req/s | p99 ms |", "|---|---|---|");
    for (const [k, v] of Object.entries(c.median)) L.push(`| ${k} | ${f(v.rps)} | ${f(v.p99, 1)} |`);
    L.push("", ...Object.entries(c.ratios).map(([k, v]) => `- ${k}: ${f(v, 3)}`), "");
  }
  if (s.activeLeaseScaling) {
    const a = s.activeLeaseScaling;
    L.push(
      "## 4. Active-lease scaling (one tenant)",
      "",
      "| level | active at end | req/s | p50 ms | p99 ms | DO SQLite size |",
      "|---|---|---|---|---|---|",
    );
    for (const l of a.levels)
      L.push(
        `| ${f(l.level, 0)} | ${f(l.activeAtEnd, 0)} | ${f(l.rps)} | ${f(l.p50, 1)} | ${f(l.p99, 1)} | ${l.doBytes ? `${f(l.doBytes / 1e6, 1)} MB` : "–"} |`,
      );
    L.push("", `Seeding rate (bench-only bulk path, one audit entry per lease): ${f(a.seedRatePerS, 0)} leases/s.`);
    if (a.skipped)
      L.push(
        `The ${f(a.skipped.level, 0)} level was skipped: seeding the rest would take about ${a.skipped.projectedSeedSeconds} s at ${a.skipped.seedRatePerS} leases/s, over the ${a.skipped.budgetSeconds} s seeding budget that keeps the full run under 15 minutes.`,
      );
    L.push("", `![scaling](${charts.scaling})`, "");
  }
  if (s.expiryStorm) {
    const e = s.expiryStorm;
    L.push(
      `## 5. Expiry storm (${f(e.leases, 0)} leases, one deadline; issuance at ${e.rate} req/s)`,
      "",
      ...(e.beforeMs === undefined
        ? []
        : [
            `"Before" is the ${f(e.beforeMs / 1000, 1)} s before the deadline (sized for at least ${f(e.median.fewestSamplesBefore, 0)} samples); "during" runs from the deadline until the last lease is recorded expired.`,
            "",
          ]),
      "| run | seconds until all expired | p99 before ms | p99 during ms | during ÷ before |",
      "|---|---|---|---|---|",
    );
    e.runs.forEach((x, i) =>
      L.push(
        `| ${i + 1} | ${f(x.secondsUntilAllExpired, 2)} | ${f(x.before.p99, 1)} (n ${x.before.n}) | ${f(x.during.p99, 1)} (n ${x.during.n}) | ${f(x.ratio, 2)} |`,
      ),
    );
    L.push("");
  }
  if (s.auditVerify) {
    const v = s.auditVerify;
    L.push(
      `## 6. Audit verification (${f(v.entries, 0)} entries, ${f(v.bytes / 1e6, 1)} MB)`,
      "",
      `GET /v1/audit/verify: ${f(v.median.verifyMs, 0)} ms (${f(v.median.entriesPerS, 0)} entries/s).${v.median.scanMs === undefined ? "" : ` The same rows read from the object's SQLite and SHA-256'd there (\`/v1/bench/audit-scan\`, the goal's baseline, same Worker hop): ${f(v.median.scanMs, 0)} ms.`}${v.median.verifyCpuMs === undefined ? "" : ` Server CPU (the vault's process group, one call at a time): verify ${f(v.median.verifyCpuMs, 0)} ms, scan ${f(v.median.scanCpuMs, 0)} ms.`} Plain SHA-256 loop over the same stored bytes in Node's memory: ${f(v.median.shaMs, 1)} ms${
        v.info
          ? ` (${Object.entries(v.info)
              .map(([k, x]) => `${k}: ${f(x, 2)}`)
              .join("; ")})`
          : ""
      }.`,
      "",
      "Where the verify time goes, replayed in Node with the same chain code (ms over all entries):",
      "",
      "| phase | ms |",
      "|---|---|",
    );
    for (const [k, x] of Object.entries(v.phasesInNode ?? {})) if (k !== "entries") L.push(`| ${k} | ${f(x, 1)} |`);
    L.push("");
  }
  if (s.kmsColdMiss) {
    const k = s.kmsColdMiss;
    L.push(
      `## 7. KMS cold miss (emulator delay ${k.kmsDelayMs} ms, ${k.burst} concurrent first requests; warm tenant at ${k.rate} req/s)`,
      "",
      `Warm tenant p99: alone ${f(k.median.aloneP99, 1)} ms, during cold bursts ${f(k.median.duringColdP99, 1)} ms, during an equal burst to an already-warm tenant ${f(k.median.duringWarmBurstP99, 1)} ms. Cold burst completes in ${f(k.median.coldBurstMs, 0)} ms (median).`,
      "",
      ...Object.entries(k.control).map(([a, b]) => `- control: ${a}: ${f(b, 2)}`),
      "",
    );
  }
  if (s.manyTenants) {
    const t = s.manyTenants;
    L.push(
      `## 8. Many tenants (${f(t.tenants, 0)})`,
      "",
      `Setup: ${f(t.setupSeconds, 0)} s to bootstrap the tenants with one credential each. Single tenant ${f(t.median.single.rps)} req/s (p99 ${f(t.median.single.p99, 1)} ms); spread over ${f(t.tenants, 0)} tenants ${f(t.median.aggregate.rps)} req/s (p99 ${f(t.median.aggregate.p99, 1)} ms); ratio ${f(t.ratios["aggregate rps ÷ single-tenant rps"], 3)}.`,
      "",
    );
  }
  if (s.coldTenant) {
    const c = s.coldTenant;
    const ph = c.median.phases;
    L.push(
      `## 9. Cold tenant: first lease (${c.tenantsPerRun} cold tenants per run, KMS emulator delay 0)`,
      "",
      `First lease on a tenant whose object was not instantiated since the restart: p50 ${f(c.median.leaseColdP50, 2)} ms; the next lease on the same tenant: p50 ${f(c.median.leaseWarmP50, 2)} ms. Concurrency 1, the isolate warmed on another tenant first.`,
      "",
      "Where the cold lease's extra time goes (medians of per-tenant differences of paired requests, ms):",
      "",
      "| phase | ms |",
      "|---|---|",
      `| object start (constructor, migration check, start-up step): cold − warm bench insert | ${f(ph.objectStart, 2)} |`,
      `| first token check (context build, pepper key, token lookup) | ${ph.firstTokenCheck < 0 ? "below the noise (negative)" : f(ph.firstTokenCheck, 2)} |`,
      `| KEK unwrap through the KMS emulator | ${f(ph.kekUnwrap, 2)} |`,
      `| first credential read (D1) and DEK unwrap | ${f(ph.firstCredentialRead, 2)} |`,
      "",
      c.memory.perObjectKB === null
        ? ""
        : `Memory: the vault's resident set grew by ${f(c.memory.perObjectKB, 0)} KB per object instantiated (${c.memory.objects} objects, ${f(c.memory.rssBeforeMB, 1)} → ${f(c.memory.rssAfterMB, 1)} MB).`,
      "",
    );
  }
  // The proxy scenario (issue 11) runs on its own (`--only proxy`) and keeps its own results file.
  const proxy = path.join(RESULTS, "proxy.json");
  if (existsSync(proxy)) L.push(proxySection(JSON.parse(readFileSync(proxy, "utf8"))));
  const proxyNotes = path.join(RESULTS, "proxy-notes.md");
  if (existsSync(proxy) && existsSync(proxyNotes)) L.push(readFileSync(proxyNotes, "utf8").trim(), "");
  // The test-vault start-up scenario (issue 17) also runs on its own (`--only testvault`).
  const testVault = path.join(RESULTS, "testvault.json");
  if (existsSync(testVault)) L.push(testVaultSection(JSON.parse(readFileSync(testVault, "utf8"))));
  // The audit Merkle scenario (issue 10) runs on its own (`--only merkle`).
  const merkle = path.join(RESULTS, "merkle.json");
  if (existsSync(merkle)) L.push(merkleSection(JSON.parse(readFileSync(merkle, "utf8"))));
  L.push(
    "## Published reference figures",
    "",
    "Different machines, setups and semantics (a lease here also writes an audit entry and decrypts under a per-version key); context, not a comparison.",
    "",
    "| system | figure | source |",
    "|---|---|---|",
    ...REFERENCES.map((x) => `| ${x.what} | ${x.figure} | ${x.source} |`),
    "",
  );
  // Hand-written analysis of the published run, kept beside the results.
  const notes = path.join(RESULTS, "notes.md");
  if (r.mode !== "quick" && existsSync(notes)) L.push(readFileSync(notes, "utf8").trim(), "");
  L.push(
    "## Stage timings",
    "",
    "| stage | seconds | load avg (1 min) after |",
    "|---|---|---|",
    ...Object.entries(r.timings).map(([k, v]) => `| ${k} | ${v.seconds} | ${v.loadAvg1m} |`),
    "",
  );
  return L.join("\n");
}

/** Writes the JSON for this mode; regenerates RESULTS.md from the full run if there is one, else this one. */
export function writeReport(results, { publish = true } = {}) {
  mkdirSync(RESULTS, { recursive: true });
  results.references = REFERENCES;
  const file = path.join(
    RESULTS,
    !publish ? "experiment.json" : results.mode === "quick" ? "quick.json" : "latest.json",
  );
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  if (!publish) return file;
  rewriteResultsMd(results);
  return file;
}

/** Regenerates RESULTS.md and its charts from the full run if there is one, else from `results`. */
export function rewriteResultsMd(results) {
  const full = path.join(RESULTS, "latest.json");
  const shown = existsSync(full) ? JSON.parse(readFileSync(full, "utf8")) : results;
  if (!shown) return;
  const charts = { scaling: "results/scaling.svg", latency: "results/latency.svg" };
  if (shown.scenarios.activeLeaseScaling)
    writeFileSync(path.join(BENCH, charts.scaling), scalingSvg(shown.scenarios.activeLeaseScaling.levels));
  if (shown.scenarios.leaseOpenLoop)
    writeFileSync(path.join(BENCH, charts.latency), latencySvg(shown.scenarios.leaseOpenLoop.histograms));
  const md = path.join(BENCH, "RESULTS.md");
  writeFileSync(md, markdown(shown, charts));
  formatMarkdown(md);
}

/**
 * Biome formats Markdown too (it pads tables), and `npm run lint` refuses a file it would change:
 * the report is written the way the formatter leaves it, so a published run lints as committed.
 */
function formatMarkdown(file) {
  const biome = path.join(BENCH, "..", "node_modules", ".bin", "biome");
  if (existsSync(biome)) execFileSync(biome, ["format", "--write", file], { stdio: "ignore" });
}
