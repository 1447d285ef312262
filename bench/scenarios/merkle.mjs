// The RESULTS.md section of the issue 10 Merkle benchmarks (bench/merkle.mjs, results/merkle.json).

const f = (x, d = 2) => (x === null || x === undefined ? "–" : Number(x).toFixed(d));

/** The RESULTS.md section for a Merkle result. */
export function merkleSection(r) {
  const L = [`## Audit Merkle tree (issue 10; \`npm run bench -- --only merkle\`, ${r.startedAt})`, ""];
  if (r.error) return [...L, `The last run failed: \`${r.error.split("\n")[0]}\``, ""].join("\n");
  L.push(
    `Node ${r.machine.node}, load average ${r.machine.loadAvgAtStart[0]} at start, ${r.machine.loadAvgAtEnd?.[0]} at end (a shared two-core machine). ${r.settings.runs} runs each, medians; ratios within one run.`,
    "",
  );
  L.push("| measure | result | goal | |", "|---|---|---|---|");
  const row = (name, g) => g && L.push(`| ${name} | ${g.value} | ${g.goal} | ${g.met ? "met" : "**missed**"} |`);
  row("lease server CPU/lease without the Merkle update ÷ with it (concurrency 16)", r.lease?.goal);
  row(`inclusion proof p50 (ms), tree of ${r.proof?.treeSize} entries, concurrency 1`, r.proof?.goal);
  row(
    `offline verifyAuditExport of ${r.offlineVerify?.entries} entries, checkpoint every ${r.offlineVerify?.checkpointEvery} (s of CPU; wall ${f(r.offlineVerify?.wallSeconds)} s)`,
    r.offlineVerify?.goal,
  );
  L.push("");
  if (r.lease)
    L.push(
      `Leases: with the update ${r.lease.runs.map((x) => `${f(x.with.serverCpuMsPerReq, 3)}`).join(" / ")} ms CPU/lease, without ${r.lease.runs.map((x) => `${f(x.without.serverCpuMsPerReq, 3)}`).join(" / ")} (runs 1–3; the baseline is a tenant whose appends skip the tree through the TEST_HOOKS-only \`/v1/bench/merkle-skip\`, with no checkpoint due in either, so the pair differs only by the tree update and the backfill check).`,
      "",
    );
  if (r.proof)
    L.push(
      `Proofs: ${r.proof.proofHashes} hashes per proof; proof server CPU ${f(r.proof.reference["proof server CPU ms/req"])} ms/req; proof p50 − one-entry \`GET /v1/audit\` p50 = ${f(r.proof.reference["proof p50 − one-entry query p50 (ms)"])} ms (the p50 includes the Worker hop and token check).`,
      "",
    );
  if (r.offlineVerify && !r.offlineVerify.goal.met)
    L.push(
      'Where the offline verifier spends its time, and what would bring it under the goal: bench/README.md, "Audit Merkle tree".',
      "",
    );
  return L.join("\n");
}
