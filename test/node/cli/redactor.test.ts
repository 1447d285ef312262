import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MASK, StreamRedactor } from "../../../cli/run/redactor";
import { formatTable, useColour } from "../../../cli/output";

/** Feeds `input` cut at `cuts` and returns everything the redactor let through. */
function through(values: string[], input: Buffer, cuts: number[]): string {
  const r = new StreamRedactor(values);
  const out: Buffer[] = [];
  let at = 0;
  for (const cut of [...new Set(cuts)].sort((a, b) => a - b)) {
    out.push(r.push(input.subarray(at, cut)));
    at = cut;
    // Never holds more than a value's length minus one.
    expect(r.held).toBeLessThanOrEqual(Math.max(0, ...values.map((v) => Buffer.byteLength(v) - 1)));
  }
  out.push(r.push(input.subarray(at)), r.flush());
  return Buffer.concat(out).toString("utf8");
}

describe("StreamRedactor", () => {
  it("masks a value whole, and when it is split across chunks at every position", () => {
    const value = "sk-live-0123456789";
    const text = Buffer.from(`key=${value}; again ${value}\n`);
    const expected = `key=${MASK}; again ${MASK}\n`;
    for (let cut = 0; cut <= text.length; cut++) expect(through([value], text, [cut])).toBe(expected);
    // One byte at a time.
    expect(through([value], text, [...text.keys()])).toBe(expected);
  });

  it("masks multi-byte values cut inside a character, and the longer of two overlapping values", () => {
    expect(through(["pässwörd✓"], Buffer.from("a pässwörd✓ b"), [4, 9])).toBe(`a ${MASK} b`);
    // "cd" inside "abcdef": the longer value starting earlier wins, even when "abcd" arrives first.
    expect(through(["abcdef", "cd"], Buffer.from("xabcdefx"), [5])).toBe(`x${MASK}x`);
    expect(through(["abcdef", "cd"], Buffer.from("xabcdX"), [5])).toBe(`xab${MASK}X`);
  });

  it("passes text without values through unchanged, however it is cut (property)", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 0, maxLength: 200 }), fc.array(fc.nat(200)), (text, cuts) => {
        const input = Buffer.from(text);
        expect(through(["\u0000never\u0000"], input, cuts.map((c) => c % (input.length + 1)))).toBe(text);
      }),
    );
  });

  it("never lets a value through, and the output does not depend on the cuts (property)", () => {
    const alphabet = fc.constantFrom(..."ab\n€x".split(""));
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: alphabet, minLength: 2, maxLength: 8 }), { minLength: 1, maxLength: 3 }),
        fc.array(fc.string({ unit: alphabet, maxLength: 6 }), { maxLength: 6 }),
        fc.array(fc.nat(400)),
        (values, fillers, cuts) => {
          const text = fillers.map((f, i) => f + values[i % values.length]).join("") + values[0];
          const input = Buffer.from(text);
          const whole = through(values, input, []);
          const cut = through(values, input, cuts.map((c) => c % (input.length + 1)));
          expect(cut).toBe(whole);
          for (const v of values) expect(whole.includes(v)).toBe(false);
        },
      ),
    );
  });
});

describe("output", () => {
  it("aligns columns and colours only on a TTY without NO_COLOR", () => {
    expect(formatTable(["name", "v"], [["a", 1], ["longer", null]])).toBe("NAME    V\na       1\nlonger  -\n");
    expect(useColour({ write: () => true, isTTY: true }, {})).toBe(true);
    expect(useColour({ write: () => true, isTTY: true }, { NO_COLOR: "1" })).toBe(false);
    expect(useColour({ write: () => true, isTTY: false }, {})).toBe(false);
  });
});
