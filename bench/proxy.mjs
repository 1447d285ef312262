// `npm run bench -- --only proxy` (or `node bench/proxy.mjs [--quick]`): the credential proxy
// against a plain pass-through Worker fetch of the same loopback upstream (issue 11
// "Performance"), on its own vault started like run.mjs does, plus OUTBOUND_ALLOW_INSECURE so a
// use policy may name http://127.0.0.1 (a test/dev setting production refuses). Bounded: 3 runs
// of 2.5 s per path and concurrency (1 s with --quick). Writes bench/results/proxy.json and the
// proxy section of bench/RESULTS.md (unless --quick).

import path from "node:path";
import { rewriteResultsMd } from "./lib/report.mjs";
import { elapsedLog, machineFacts, pinToCore0, runOnOwnVault } from "./lib/standalone.mjs";
import { BenchVault, ROOT, treeState } from "./lib/vault.mjs";
import { proxyVsPassthrough } from "./scenarios/proxy.mjs";

const quick = process.argv.includes("--quick");
const settings = {
  runs: 3,
  closed: { concurrency: 16, durationMs: quick ? 1000 : 2500, warmupMs: quick ? 100 : 400, maxRequests: 100_000 },
};
const started = Date.now();
const log = elapsedLog(started);

const pinned = pinToCore0();
const vault = new BenchVault({ core: 1, vars: ["OUTBOUND_ALLOW_INSECURE:true"] });
for (const [signal, code] of [
  ["SIGINT", 130],
  ["SIGTERM", 143],
])
  process.on(signal, () => void vault.stop().finally(() => process.exit(code)));
const result = {
  startedAt: new Date(started).toISOString(),
  source: treeState(),
  machine: machineFacts(pinned),
  settings,
};
const file = path.join(ROOT, "bench", "results", quick ? "proxy-quick.json" : "proxy.json");
await runOnOwnVault({
  vault,
  result,
  started,
  log,
  file,
  scenario: async () => {
    result.scenario = await proxyVsPassthrough({
      ...settings,
      vault,
      url: vault.url,
      log,
      closed: { ...settings.closed, serverCpu: () => vault.groupCpuSeconds() },
    });
    return result.scenario.goals;
  },
  afterWrite: () => quick || rewriteResultsMd(null),
});
