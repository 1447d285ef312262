// The comparison behind `npm run bench -- --quick --check` (issue 16 goal 6), on hand-made results
// objects: no bench runs here.
import { describe, expect, it } from "vitest";
import { compareRatios, formatComparison, ratiosOf } from "../../../bench/lib/check.mjs";

/** A results object with one "higher is better" goal, one "lower is better" goal, an "=" goal and capacity ratios. */
function results({ lease = 0.6, verify = 2, decrypt = true, cpu = 0.5, create = 0.3 } = {}) {
  return {
    scenarios: {
      leaseVsBaselines: {
        goals: { "lease rps ÷ do-insert rps": { value: lease, goal: "≥ 0.6", met: lease >= 0.6 } },
        cpuRatios: { "do-insert server CPU/req ÷ lease server CPU/req": cpu },
      },
      auditVerify: { goals: { "verify ÷ baseline": { value: verify, goal: "≤ 1.3", met: verify <= 1.3 } } },
      kmsColdMiss: {
        goals: { "Decrypt calls per cold tenant": { value: decrypt ? "1,1" : "1,2", goal: "= 1", met: decrypt } },
        control: { "p99 ÷ alone": 3 },
      },
      credentialWrites: { ratios: { "create rps ÷ do-insert rps": create } },
    },
  };
}

describe("bench --check ratio comparison", () => {
  it("reads the direction of each ratio from its goal, and capacity ratios as higher-is-better; controls are not judged", () => {
    const r = ratiosOf(results());
    expect(r.get("leaseVsBaselines / lease rps ÷ do-insert rps")?.direction).toBe("higher");
    expect(r.get("auditVerify / verify ÷ baseline")?.direction).toBe("lower");
    expect(r.get("kmsColdMiss / Decrypt calls per cold tenant")?.direction).toBe("equal");
    expect(r.get("leaseVsBaselines / do-insert server CPU/req ÷ lease server CPU/req")?.direction).toBe("higher");
    expect(r.get("credentialWrites / create rps ÷ do-insert rps")?.direction).toBe("higher");
    expect([...r.keys()].some((k) => k.includes("p99 ÷ alone"))).toBe(false);
  });

  it("passes an identical run and changes within 20% either way", () => {
    expect(compareRatios(results(), results()).ok).toBe(true);
    // 15% worse on every ratio, in its own direction: inside the tolerance.
    const slightlyWorse = results({ lease: 0.6 * 0.85, verify: 2 * 1.15, cpu: 0.5 * 0.85, create: 0.3 * 0.85 });
    expect(compareRatios(results(), slightlyWorse).ok).toBe(true);
  });

  it("fails when a higher-is-better ratio drops by more than 20%, and not when it rises as much", () => {
    const v = compareRatios(results(), results({ lease: 0.6 * 0.75 }));
    expect(v.ok).toBe(false);
    expect(
      v.rows.filter((x: { status: string }) => x.status === "regressed").map((x: { key: string }) => x.key),
    ).toEqual(["leaseVsBaselines / lease rps ÷ do-insert rps"]);
    // Positive control: the same move the good way.
    expect(compareRatios(results(), results({ lease: 0.6 * 1.5 })).ok).toBe(true);
  });

  it("fails when a lower-is-better ratio rises by more than 20%, and not when it falls as much", () => {
    const v = compareRatios(results(), results({ verify: 2 * 1.25 }));
    expect(v.ok).toBe(false);
    expect(v.rows.find((x: { key: string }) => x.key === "auditVerify / verify ÷ baseline")?.status).toBe("regressed");
    expect(compareRatios(results(), results({ verify: 2 * 0.5 })).ok).toBe(true);
  });

  it("fails on capacity ratios (cpuRatios, ratios) that drop by more than 20%", () => {
    expect(compareRatios(results(), results({ cpu: 0.5 * 0.7 })).ok).toBe(false);
    expect(compareRatios(results(), results({ create: 0.3 * 0.7 })).ok).toBe(false);
    expect(compareRatios(results(), results({ cpu: 0.5 * 0.9, create: 0.3 * 0.9 })).ok).toBe(true);
  });

  it("fails when an '=' goal met in the reference is missed now, and passes when it stays met", () => {
    expect(compareRatios(results(), results({ decrypt: false })).ok).toBe(false);
    expect(compareRatios(results({ decrypt: false }), results({ decrypt: false })).ok).toBe(true);
    expect(compareRatios(results({ decrypt: false }), results()).ok).toBe(true);
  });

  it("lists ratios measured in only one run as missing without failing (a --only run)", () => {
    const partial = { scenarios: { leaseVsBaselines: results().scenarios.leaseVsBaselines } };
    const v = compareRatios(results(), partial);
    expect(v.ok).toBe(true);
    expect(v.rows.find((x: { key: string }) => x.key === "auditVerify / verify ÷ baseline")?.status).toBe("missing");
    expect(formatComparison(v).at(-1)).toMatch(/check passed/);
    expect(formatComparison(compareRatios(results(), results({ lease: 0.1 }))).at(-1)).toMatch(/check FAILED: 1 ratio/);
  });
});
