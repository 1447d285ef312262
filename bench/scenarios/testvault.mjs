// The RESULTS.md section of the test-vault start-up bench (bench/testvault.mjs, issue 17).

/** The RESULTS.md section for a test-vault start result (bench/results/testvault.json). */
export function testVaultSection(r) {
  const L = [`## Test vault start-up (issue 17; \`npm run bench -- --only testvault\`, ${r.startedAt})`, ""];
  L.push(
    `\`startTestVault({ credentials: { bench: … } })\` from the built \`@ghoststack/vault-testing\` (Miniflare, in memory), each start checked by one lease through the SDK. Cold: ${r.settings.runs} fresh Node processes, one start each. Warm: ${r.settings.runs} starts after a first one in one process. Node ${r.machine.node}, load average ${r.machine.loadAvgAtStart[0]} at start, ${r.machine.loadAvgAtEnd?.[0]} at end (a shared two-core machine).`,
    "",
  );
  L.push("| measure | result | goal | |", "|---|---|---|---|");
  for (const [k, v] of Object.entries(r.goals))
    L.push(`| ${k} | ${v.value} | ${v.goal} | ${v.met ? "met" : "**missed**"} |`);
  L.push("", "| sample | n | p50 ms | p95 ms | max ms |", "|---|---|---|---|---|");
  for (const [k, v] of Object.entries(r.summary)) L.push(`| ${k} | ${v.n} | ${v.p50} | ${v.p95} | ${v.max} |`);
  L.push("");
  return L.join("\n");
}
