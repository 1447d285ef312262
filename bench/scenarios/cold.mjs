// Scenario 9 (issue 16 goal 4): the first lease on a cold tenant, against a warm lease on the same
// tenant. "Cold" = a Durable Object not instantiated since the vault (re)started: the tenants are
// bootstrapped, given their credentials and left alone before the restart, so the first request
// pays the constructor (schema migration check, alarm read), the start-up step, the context build,
// the first token check, the KEK unwrap through the KMS emulator (delay 0) and the first read of
// the credential (from the object's stored copies since issue 16, not from D1). The isolate itself is warmed first on other tenants, so JIT warm-up is not
// counted as a per-object cost.
//
// Phases come from differences of paired requests, per tenant, not from timers inside the object:
// workerd's clock only advances at I/O (a Spectre mitigation), so in-object timings of the
// constructor and the migration check would read 0 ms.

import { performance } from "node:perf_hooks";
import { agent, json, median, request } from "../lib/load.mjs";
import { createCredential, goal, kmsControl, leaseTarget, newTenant, parallel, round } from "./common.mjs";

/** Tenants per set: one set per kind of first request (lease, do-insert, whoami). */
const SETS = ["lease", "insert", "whoami"];

/** Before the restart: the cold tenants (two credentials each) and a tenant to warm the isolate on. */
export async function prepareColdStarts(ctx) {
  const count = ctx.runs * ctx.coldStartTenants;
  const out = { warmup: await newTenant(ctx, "c9-warmup") };
  for (const set of SETS) {
    out[set] = await parallel(
      Array.from({ length: count }, (_, k) => k),
      4,
      async (k) => {
        const t = await newTenant(ctx, `c9-${set}-${k}`);
        await createCredential(ctx, t, "bench2");
        return t;
      },
    );
  }
  return out;
}

/** 9: first lease on a cold tenant ÷ a warm lease, with the cold path split into phases. */
export async function coldTenant(ctx, prepared) {
  const ag = agent(1);
  const time = async (target) => {
    const t0 = performance.now();
    const res = await request(ctx.url, target, 0, ag);
    const ms = performance.now() - t0;
    if (res.status !== (target.expect ?? 200)) throw new Error(`${target.path} answered ${res.status}`);
    return ms;
  };
  const auth = (t) => ({ authorization: `Bearer ${t.token}` });
  const lease = (t, credential = "bench") => time(leaseTarget(t.token, credential));
  const insert = (t) => time({ method: "POST", path: `/v1/bench/do-insert/${t.tenant}` });
  const whoami = (t) => time({ method: "GET", path: "/v1/whoami", headers: auth(t) });

  // Warm the isolate's code paths (JIT) on one tenant, so only per-object state is cold below.
  const w = prepared.warmup;
  for (let i = 0; i < 100; i++) await Promise.all([lease(w), insert(w), whoami(w)]);
  await json(ctx.url, ag, "GET", "/v1/bench/echo");

  const rssBefore = ctx.vault.groupRssBytes();
  const runs = [];
  for (let r = 0; r < ctx.runs; r++) {
    const rows = [];
    for (let k = r * ctx.coldStartTenants; k < (r + 1) * ctx.coldStartTenants; k++) {
      const [L, I, W] = SETS.map((s) => prepared[s][k]);
      const row = {};
      // Object start alone: the bench insert touches no token, KEK or D1.
      row.insertCold = await insert(I);
      row.insertWarm = await insert(I);
      // Token check on a started object, then the KEK unwrap and the first credential read.
      row.whoamiCold = await whoami(W);
      row.whoamiWarm = await whoami(W);
      row.leaseKek = await lease(W, "bench"); // KEK unwrap + credential read + DEK
      row.leaseCredential = await lease(W, "bench2"); // credential read + DEK, KEK cached
      // The goal's pair: everything cold at once, then the same tenant warm.
      row.leaseCold = await lease(L);
      row.leaseWarm = await lease(L);
      row.decrypts = (await kmsControl(ctx, "GET", "stats", { tenantId: L.tenant })).calls?.Decrypt ?? 0;
      rows.push(row);
    }
    const p50 = (pick) => round(median(rows.map(pick)), 2);
    const run = {
      tenants: rows.length,
      leaseColdP50: p50((x) => x.leaseCold),
      leaseWarmP50: p50((x) => x.leaseWarm),
      phases: {
        objectStart: p50((x) => x.insertCold - x.insertWarm),
        // whoami's cold-minus-warm also pays the object start; the insert pair's share is taken off.
        firstTokenCheck: p50((x) => x.whoamiCold - x.whoamiWarm - (x.insertCold - x.insertWarm)),
        kekUnwrap: p50((x) => x.leaseKek - x.leaseCredential),
        firstCredentialRead: p50((x) => x.leaseCredential - x.leaseWarm),
      },
      raw: {
        insertCold: p50((x) => x.insertCold),
        insertWarm: p50((x) => x.insertWarm),
        whoamiCold: p50((x) => x.whoamiCold),
        whoamiWarm: p50((x) => x.whoamiWarm),
        leaseKek: p50((x) => x.leaseKek),
        leaseCredential: p50((x) => x.leaseCredential),
      },
      decryptsPerColdTenant: [...new Set(rows.map((x) => x.decrypts))],
    };
    run.ratio = run.leaseColdP50 / run.leaseWarmP50;
    ctx.log(
      `  run ${r + 1}: first lease p50 ${run.leaseColdP50} ms, warm ${run.leaseWarmP50} ms (÷ ${run.ratio.toFixed(2)}); start ${run.phases.objectStart}, token ${run.phases.firstTokenCheck}, KEK ${run.phases.kekUnwrap}, credential ${run.phases.firstCredentialRead} ms; KMS Decrypts per tenant ${run.decryptsPerColdTenant}`,
    );
    runs.push(run);
  }
  const rssAfter = ctx.vault.groupRssBytes();
  const objects = ctx.runs * ctx.coldStartTenants * SETS.length;
  const med = (pick) => round(median(runs.map(pick)), 2);
  return {
    tenantsPerRun: ctx.coldStartTenants,
    runs,
    median: {
      leaseColdP50: med((x) => x.leaseColdP50),
      leaseWarmP50: med((x) => x.leaseWarmP50),
      phases: Object.fromEntries(Object.keys(runs[0].phases).map((k) => [k, med((x) => x.phases[k])])),
    },
    memory: {
      objects,
      rssBeforeMB: round(rssBefore / 2 ** 20, 1),
      rssAfterMB: round(rssAfter / 2 ** 20, 1),
      perObjectKB: rssBefore === 0 ? null : round((rssAfter - rssBefore) / objects / 1024, 0),
    },
    goals: {
      "first lease on a cold tenant p50 ÷ warm lease p50": goal(median(runs.map((x) => x.ratio)), "≤", 3),
    },
  };
}
