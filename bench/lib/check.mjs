// `npm run bench -- --quick --check` (issue 16 goal 6): compares this run's same-run ratios with the
// committed results of the same mode and fails on a regression of more than 20%. Pure functions
// over two results objects, so the comparison is unit-tested without running a bench
// (test/node/bench/check.test.ts). Not run in CI: on the shared machine even ratios swing.

/** Default allowed regression: a ratio may get 20% worse before the check fails. */
export const TOLERANCE = 0.2;

/**
 * Every comparable ratio of a results object, keyed `scenario / name`, with its direction.
 * Goals carry their own direction in the goal text ("≥ 0.6": higher is better, "≤ 2": lower);
 * an "= 1" goal is compared by whether it was met. `cpuRatios` (baseline CPU ÷ lease CPU) and
 * `ratios` (rps ÷ rps) are capacity ratios, higher is better. `control` figures explain other
 * figures and are not judged.
 *
 * @param {{ scenarios?: Record<string, any> }} results
 * @returns {Map<string, { value: number | string, direction: "higher" | "lower" | "equal", met?: boolean }>}
 */
export function ratiosOf(results) {
  const out = new Map();
  for (const [scenario, s] of Object.entries(results?.scenarios ?? {})) {
    for (const [name, g] of Object.entries(s?.goals ?? {})) {
      const op = String(g.goal ?? "")
        .trim()
        .slice(0, 1);
      const direction = op === "≥" || op === ">" ? "higher" : op === "≤" || op === "<" ? "lower" : "equal";
      out.set(`${scenario} / ${name}`, { value: g.value, direction, met: g.met });
    }
    for (const key of ["cpuRatios", "ratios"]) {
      for (const [name, value] of Object.entries(s?.[key] ?? {}))
        out.set(`${scenario} / ${name}`, { value, direction: "higher" });
    }
  }
  return out;
}

const finite = (x) => typeof x === "number" && Number.isFinite(x);

/**
 * Compares `current` with `reference` ratio by ratio. A ratio regresses when it moved the wrong
 * way by more than `tolerance` of the reference (higher-is-better: below ref × (1 − t);
 * lower-is-better: above ref × (1 + t)), or, for "=" goals, when the reference met it and this
 * run does not. Ratios present in only one of the two (a `--only` run, a renamed goal) are listed
 * as `missing` and never fail the check; neither do values that are not finite numbers.
 *
 * @returns {{ ok: boolean, rows: Array<{ key: string, direction: string, reference: any, current: any, change: number | null, status: "ok" | "regressed" | "missing" }> }}
 */
export function compareRatios(reference, current, tolerance = TOLERANCE) {
  const ref = ratiosOf(reference);
  const cur = ratiosOf(current);
  const rows = [];
  for (const key of new Set([...ref.keys(), ...cur.keys()])) {
    const r = ref.get(key);
    const c = cur.get(key);
    if (!r || !c) {
      rows.push({
        key,
        direction: (r ?? c).direction,
        reference: r?.value ?? null,
        current: c?.value ?? null,
        change: null,
        status: "missing",
      });
      continue;
    }
    let status = "ok";
    let change = null;
    if (r.direction === "equal") {
      if (r.met === true && c.met === false) status = "regressed";
    } else if (finite(r.value) && finite(c.value) && r.value > 0) {
      change = c.value / r.value - 1;
      const worse =
        r.direction === "higher" ? c.value < r.value * (1 - tolerance) : c.value > r.value * (1 + tolerance);
      if (worse) status = "regressed";
    }
    rows.push({ key, direction: r.direction, reference: r.value, current: c.value, change, status });
  }
  return { ok: rows.every((x) => x.status !== "regressed"), rows };
}

/** The comparison as lines for the console. */
export function formatComparison({ ok, rows }, tolerance = TOLERANCE) {
  const pct = (x) => (x === null ? "" : ` (${x >= 0 ? "+" : ""}${(x * 100).toFixed(1)}%)`);
  const show = (v) =>
    v === null || v === undefined ? "–" : typeof v === "number" ? String(Math.round(v * 1000) / 1000) : String(v);
  const lines = rows.map(
    (x) =>
      `${x.status === "regressed" ? "REGRESSED" : x.status === "missing" ? "missing  " : "ok       "} ${x.key} [${x.direction} is better]: ${show(x.reference)} → ${show(x.current)}${pct(x.change)}`,
  );
  lines.push(
    ok
      ? `check passed: no ratio regressed by more than ${tolerance * 100}%`
      : `check FAILED: ${rows.filter((x) => x.status === "regressed").length} ratio(s) regressed by more than ${tolerance * 100}%`,
  );
  return lines;
}
