import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { AllowedPrograms, resolveProgram } from "../../../mcp/allowed-programs";

/** `--allow-run` resolution on real files: what a model may start, and what it may not. */

const root = mkdtempSync(path.join(tmpdir(), "gv-allow-"));
const early = path.join(root, "early");
const late = path.join(root, "late");
for (const dir of [early, late]) mkdirSync(dir);
const tool = path.join(late, "tool");
writeFileSync(tool, "#!/bin/sh\n", { mode: 0o755 });
writeFileSync(path.join(late, "notes"), "not a program\n", { mode: 0o644 });
// A multi-call binary's other name: allowing one name must not allow the other.
symlinkSync(tool, path.join(late, "other-name"));
const PATH = [".", early, late].join(path.delimiter);

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("AllowedPrograms", () => {
  it("resolves names on PATH and paths against the working directory; allows exactly those", () => {
    const allowed = AllowedPrograms.resolve(["tool"], PATH, root);
    expect(allowed.list).toEqual([tool]);
    expect(allowed.check("tool", "/")).toBe(tool);
    expect(allowed.check(tool, "/")).toBe(tool);
    expect(allowed.check("./tool", late)).toBe(tool);
    expect(allowed.check("../late/tool", early)).toBe(tool);
  });

  it("refuses other programs, another name of the same file, and a name that resolves elsewhere later", () => {
    const allowed = AllowedPrograms.resolve([tool], PATH, root);
    expect(allowed.check("other-name", "/")).toBeUndefined();
    expect(allowed.check(path.join(late, "other-name"), "/")).toBeUndefined();
    expect(allowed.check("sh", "/")).toBeUndefined();
    expect(allowed.check("", "/")).toBeUndefined();
    // A relative PATH entry (".") is never searched, so a model's cwd cannot shadow a name.
    expect(resolveProgram("tool", ".", late)).toBeUndefined();
    expect(allowed.check("tool", late)).toBe(tool);
    // A program put earlier on PATH after start: the name now means it, and it is not allowed.
    const shadow = path.join(early, "tool");
    writeFileSync(shadow, "#!/bin/sh\n", { mode: 0o755 });
    try {
      expect(allowed.check("tool", "/")).toBeUndefined();
      expect(allowed.check(tool, "/")).toBe(tool);
    } finally {
      rmSync(shadow);
    }
  });

  it("refuses at start an entry that is not an executable file, naming it; none allowed is an empty list", () => {
    expect(() => AllowedPrograms.resolve(["notes"], PATH, root)).toThrow(
      "--allow-run notes: not an executable file on PATH",
    );
    expect(() => AllowedPrograms.resolve([late], PATH, root)).toThrow(`--allow-run ${late}: not an executable file`);
    expect(() => AllowedPrograms.resolve(["missing"], PATH, root)).toThrow("--allow-run missing");
    const none = AllowedPrograms.resolve([], PATH, root);
    expect(none.list).toEqual([]);
    expect(none.check("tool", "/")).toBeUndefined();
  });
});
