// Issue 11 "Performance": the credential proxy (POST /v1/credentials/{ref}/use) against a plain
// pass-through Worker fetch (GET /v1/bench/passthrough/:port) of the same local upstream, an HTTP
// server on 127.0.0.1 in this process. Run with `npm run bench -- --only proxy`; it starts its own
// vault with OUTBOUND_ALLOW_INSECURE (a loopback upstream; production refuses the setting).
//
// The proxy's own per-minute budgets (600 calls per credential, 300 per identity) stay on: the
// load rotates over POOL credentials and POOL user tokens, so the budgets are never reached and
// their bookkeeping is measured like every other part of a call.

import http from "node:http";
import { closedLoop, json, request } from "../lib/load.mjs";
import { baselineTargets, brief, goal, leaseTarget, med, newTenant, setupAgent } from "./common.mjs";

/** Credentials and identities the load rotates over (budget: 300 calls a minute per pair). */
const POOL = 40;
/** The upstream's answer: a small JSON body, as a typical API reply. */
const UPSTREAM_BODY = JSON.stringify({
  ok: true,
  id: "chatcmpl-bench",
  items: Array.from({ length: 8 }, (_, i) => ({ i, text: "lorem ipsum dolor sit amet" })),
});

/** A large answer (64 KB of the same JSON items), where base64 and the scrub's search scale with the body. */
const LARGE_BODY = JSON.stringify({
  ok: true,
  items: Array.from({ length: 1900 }, (_, i) => ({ i, text: "lorem ipsum dolor sit amet" })),
}).slice(0, 65_536);

/** Starts the loopback upstream; resolves with { port, close, hits, setBody }. */
export function startUpstream() {
  let hits = 0;
  let body = UPSTREAM_BODY;
  const server = http.createServer((req, res) => {
    hits++;
    req.resume();
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(body);
  });
  server.keepAliveTimeout = 30_000;
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({
        port: server.address().port,
        hits: () => hits,
        setBody: (b) => (body = b),
        close: () => new Promise((r) => server.close(r)),
      }),
    ),
  );
}

/** One tenant, POOL credentials with a use policy for the upstream, POOL user tokens. */
async function setup(ctx, port) {
  const t = await newTenant(ctx, "proxy");
  const origin = `http://127.0.0.1:${port}`;
  const creds = [],
    tokens = [];
  for (let i = 0; i < POOL; i++) {
    const name = `upstream-${i}`;
    await json(ctx.url, setupAgent, "POST", "/v1/credentials", {
      token: t.token,
      body: { name, value: `sk-bench-${"x".repeat(32)}-${i}`, default_ttl: "1h", max_ttl: "24h" },
    });
    await json(ctx.url, setupAgent, "PUT", `/v1/credentials/${name}/use`, {
      token: t.token,
      body: {
        origins: [origin],
        methods: ["GET"],
        path_prefixes: ["/v1/"],
        inject: { type: "header", name: "Authorization", template: "Bearer {value}" },
      },
    });
    const tok = await json(ctx.url, setupAgent, "POST", "/v1/tokens", {
      token: t.token,
      body: { name: `agent-${i}`, role: "user", identity: `agent:bench-${i}` },
    });
    creds.push(name);
    tokens.push(tok.token);
  }
  return { t, creds, tokens, origin };
}

function proxyTarget(s, port) {
  const body = JSON.stringify({ method: "GET", url: `http://127.0.0.1:${port}/v1/ping`, purpose: "bench" });
  return {
    method: "POST",
    path: (i) => `/v1/credentials/${s.creds[i % POOL]}/use`,
    headers: (i) => ({ authorization: `Bearer ${s.tokens[i % POOL]}`, "content-type": "application/json" }),
    body,
  };
}

/** Runs the proxy scenario on a started vault (`ctx.url`, `ctx.closed` with serverCpu). */
export async function proxyVsPassthrough(ctx) {
  const up = await startUpstream();
  try {
    const s = await setup(ctx, up.port);
    const targets = {
      passthrough: { method: "GET", path: `/v1/bench/passthrough/${up.port}` },
      proxy: proxyTarget(s, up.port),
    };
    // A first proxied call must succeed and carry the upstream's body (a 200 from the wrong place would flatter the figures).
    const first = await request(
      ctx.url,
      { ...targets.proxy, path: targets.proxy.path(0), headers: targets.proxy.headers(0) },
      0,
      setupAgent,
      true,
    );
    const reply = first.status === 200 ? JSON.parse(first.body) : null;
    if (!reply || reply.status !== 200 || Buffer.from(reply.body_base64, "base64").toString("utf8") !== UPSTREAM_BODY)
      throw new Error(`proxy check failed: ${first.status} ${first.body ?? first.error}`);
    const references = { echo: baselineTargets(s.t.tenant).echo, lease: leaseTarget(s.t.token) };
    const runs = [];
    for (let r = 0; r < ctx.runs; r++) {
      const run = {};
      // Throughput and server CPU at concurrency 16; unqueued latency at concurrency 1.
      for (const [name, target] of Object.entries(targets))
        run[name] = brief(await closedLoop(ctx.url, target, ctx.closed));
      for (const [name, target] of Object.entries(targets))
        run[`${name}@1`] = brief(await closedLoop(ctx.url, target, { ...ctx.closed, concurrency: 1 }));
      // Where the added latency comes from: the same hop into the tenant's object with a token check,
      // a decrypt and an audit entry (a lease) against the bare route (echo), unqueued.
      for (const [name, target] of Object.entries(references))
        run[`${name}@1`] = brief(await closedLoop(ctx.url, target, { ...ctx.closed, concurrency: 1 }));
      // The same pair unqueued with a 64 KB answer: not a goal, shows how the proxy's cost grows with the body.
      up.setBody(LARGE_BODY);
      for (const [name, target] of Object.entries(targets))
        run[`${name} 64 KB@1`] = brief(await closedLoop(ctx.url, target, { ...ctx.closed, concurrency: 1 }));
      up.setBody(UPSTREAM_BODY);
      run.cpuRatio = run.proxy.serverCpuMsPerReq / run.passthrough.serverCpuMsPerReq;
      run.addedP50Ms = run["proxy@1"].p50 - run["passthrough@1"].p50;
      run.leaseOverEchoP50Ms = run["lease@1"].p50 - run["echo@1"].p50;
      run.largeAddedP50Ms = run["proxy 64 KB@1"].p50 - run["passthrough 64 KB@1"].p50;
      run.largeCpuRatio = run["proxy 64 KB@1"].serverCpuMsPerReq / run["passthrough 64 KB@1"].serverCpuMsPerReq;
      ctx.log(
        `  run ${r + 1}: ${Object.keys(run)
          .filter((k) => typeof run[k] === "object")
          .map(
            (k) =>
              `${k} ${run[k].rps.toFixed(0)}/s p50 ${run[k].p50.toFixed(2)} p99 ${run[k].p99.toFixed(1)} ms cpu ${run[k].serverCpuMsPerReq?.toFixed(2)} ms/req${run[k].errors ? ` ERRORS ${run[k].errors} (${run[k].firstError})` : ""}`,
          )
          .join("; ")}`,
      );
      runs.push(run);
    }
    const keys = Object.keys(runs[0]).filter((k) => typeof runs[0][k] === "object");
    const median = Object.fromEntries(
      keys.map((k) => [
        k,
        {
          rps: med(runs, (x) => x[k].rps),
          p50: med(runs, (x) => x[k].p50),
          p99: med(runs, (x) => x[k].p99),
          serverCpuMsPerReq: med(runs, (x) => x[k].serverCpuMsPerReq),
          serverCpuShare: med(runs, (x) => x[k].serverCpuShare),
          errors: runs.reduce((a, x) => a + x[k].errors, 0),
        },
      ]),
    );
    return {
      pool: POOL,
      upstreamBodyBytes: Buffer.byteLength(UPSTREAM_BODY),
      upstreamHits: up.hits(),
      runs,
      median,
      goals: {
        "proxy server CPU/req ÷ pass-through server CPU/req": goal(
          med(runs, (x) => x.cpuRatio),
          "≤",
          2,
        ),
        "proxy p50 − pass-through p50, concurrency 1 (ms)": goal(
          med(runs, (x) => x.addedP50Ms),
          "≤",
          3,
        ),
      },
      reference: {
        "lease p50 − echo p50, concurrency 1 (ms): the cost of one authenticated, audited call into the tenant's object":
          med(runs, (x) => x.leaseOverEchoP50Ms),
        "64 KB answer: proxy p50 − pass-through p50, concurrency 1 (ms)": med(runs, (x) => x.largeAddedP50Ms),
        "64 KB answer: proxy server CPU/req ÷ pass-through, concurrency 1": med(runs, (x) => x.largeCpuRatio),
      },
    };
  } finally {
    await up.close();
  }
}

/** The RESULTS.md section for a proxy result (bench/results/proxy.json). */
export function proxySection(p) {
  const f = (x, d = 2) => (x === null || x === undefined ? "–" : x.toFixed(d));
  const L = [`## Credential proxy vs pass-through (issue 11; \`npm run bench -- --only proxy\`, ${p.startedAt})`, ""];
  L.push(
    `The same loopback upstream (an HTTP server in the bench process answering ${p.scenario.upstreamBodyBytes} bytes of JSON, 64 KB in the \`64 KB\` rows) fetched by a bench-only Worker route that returns the answer as is (\`passthrough\`), and through \`POST /v1/credentials/{ref}/use\` (\`proxy\`: token, ACL and policy checks, value decrypted, header injected, answer scrubbed and base64-encoded, \`credential.used\` audit entry). Closed loop at concurrency ${p.settings.closed.concurrency} for req/s and server CPU, at concurrency 1 for latency; ${p.settings.runs} runs, medians. Load average ${p.machine.loadAvgAtStart[0]} at start, ${p.machine.loadAvgAtEnd?.[0]} at end: a shared machine, so trust the ratios more than the absolute figures.`,
    "",
  );
  L.push("| measure | result | goal | |", "|---|---|---|---|");
  for (const [k, v] of Object.entries(p.scenario.goals))
    L.push(`| ${k} | ${v.value ?? "–"} | ${v.goal} | ${v.met === null ? "–" : v.met ? "met" : "**missed**"} |`);
  L.push("", "| path | req/s | p50 ms | p99 ms | server CPU ms/req | errors |", "|---|---|---|---|---|---|");
  for (const [k, v] of Object.entries(p.scenario.median))
    L.push(`| ${k} | ${f(v.rps, 0)} | ${f(v.p50)} | ${f(v.p99)} | ${f(v.serverCpuMsPerReq)} | ${v.errors} |`);
  const refs = Object.entries(p.scenario.reference ?? {});
  if (refs.length) L.push("", "For reference, same run (not goals):", "", ...refs.map(([k, v]) => `- ${k}: ${f(v)}`));
  if (p.notes) L.push("", p.notes);
  L.push("");
  return L.join("\n");
}
