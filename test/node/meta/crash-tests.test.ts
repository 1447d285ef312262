import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ABORTS, CRASH_TESTS } from "../../crash-tests";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

function testFiles(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) return testFiles(rel);
    return e.name.endsWith(".test.ts") ? [rel] : [];
  });
}

describe("files that abort Durable Objects run in a runtime of their own (test/crash-tests.ts)", () => {
  it("the marker finds each way a test aborts objects, and not a mention in prose", () => {
    expect(ABORTS.test("await abortAllDurableObjects();")).toBe(true);
    expect(ABORTS.test('await arm(tenantId, { abortAt: "mid-kek-sweep" });')).toBe(true);
    expect(ABORTS.test("await operatorPlane(env).crashAfterCallsForTest();")).toBe(true);
    expect(ABORTS.test("// the object may be aborted by the runtime")).toBe(false);
  });

  it("every workers test file that aborts objects is listed, and every listed file exists and aborts", () => {
    const aborting = testFiles("test/workers").filter((f) => ABORTS.test(readFileSync(path.join(ROOT, f), "utf8")));
    expect([...CRASH_TESTS].sort()).toEqual(aborting.sort());
  });
});
