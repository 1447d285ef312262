import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodedForms, MASK, StreamRedactor } from "../../../cli/run/redactor";
import { formatTable, useColour } from "../../../cli/output";

/** Feeds `input` cut at `cuts` and returns everything the redactor let through. */
function through(values: string[], input: Buffer, cuts: number[]): string {
  const r = new StreamRedactor(values);
  const out: Buffer[] = [];
  let at = 0;
  for (const cut of [...new Set(cuts)].sort((a, b) => a - b)) {
    out.push(r.push(input.subarray(at, cut)));
    at = cut;
    // Never holds more than the longest pattern (a value or one of its encodings) minus one.
    expect(r.held).toBeLessThanOrEqual(r.maxHeld);
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
        expect(
          through(
            ["\u0000never\u0000"],
            input,
            cuts.map((c) => c % (input.length + 1)),
          ),
        ).toBe(text);
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
          const cut = through(
            values,
            input,
            cuts.map((c) => c % (input.length + 1)),
          );
          expect(cut).toBe(whole);
          for (const v of values) expect(whole.includes(v)).toBe(false);
        },
      ),
    );
  });
});

describe("StreamRedactor: encodings of a value", () => {
  const value = "sk-live/0123+456 ü?&=";
  const bytes = Buffer.from(value);
  const b64 = bytes.toString("base64");
  const encodings: Record<string, string> = {
    base64: b64,
    "base64 without padding": b64.replace(/=+$/, ""),
    base64url: bytes.toString("base64url"),
    "base64url with padding": b64.replace(/\+/g, "-").replace(/\//g, "_"),
    hex: bytes.toString("hex"),
    HEX: bytes.toString("hex").toUpperCase(),
    "URL-encoded": encodeURIComponent(value),
    "url-encoded, lower-case escapes": encodeURIComponent(value).replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase()),
    "form-encoded": new URLSearchParams({ k: value }).toString().slice(2),
  };

  for (const [name, encoded] of Object.entries(encodings)) {
    it(`masks the value ${name}, whole and cut at every position`, () => {
      const text = Buffer.from(`got ${encoded} ok\n`);
      const whole = through([value], text, []);
      expect(whole).not.toContain(encoded);
      expect(whole.startsWith(`got ${MASK}`)).toBe(true);
      expect(whole.endsWith(" ok\n")).toBe(true);
      for (let cut = 0; cut <= text.length; cut++) expect(through([value], text, [cut])).toBe(whole);
    });
  }

  it("masks the value's characters inside a longer base64 stream at each of the 3 byte offsets", () => {
    for (const before of ["", "a", "ab", "abc", "abcd"]) {
      for (const after of ["", "x", "xy"]) {
        const stream = Buffer.from(`${before}${value}${after}`);
        for (const encoding of ["base64", "base64url"] as const) {
          const out = through([value], Buffer.from(stream.toString(encoding)), []);
          expect(out, `${encoding} after ${before.length} bytes`).toContain(MASK);
          // What is left of the stream decodes to the text around the value, never 6+ of its bytes.
          const left = out.split(MASK).join("");
          expect(left.length).toBeLessThanOrEqual(Math.ceil(((before.length + after.length) * 4) / 3) + 8);
        }
      }
    }
  });

  it("leaves text alone that is not an encoding of a value, and short values only masked as they are (positive control)", () => {
    const text = "plain text, 0123456789abcdef, c2stbGl2ZQ== and %41%42\n";
    expect(through([value], Buffer.from(text), [7, 20])).toBe(text);
    // Under 8 bytes: the base64 of "abc1234" is not masked, the value itself is.
    const short = "abc1234";
    expect(encodedForms(short)).toEqual([]);
    const b = Buffer.from(short).toString("base64");
    expect(through([short], Buffer.from(`${b} ${short}`), [])).toBe(`${b} ${MASK}`);
    expect(encodedForms("12345678").length).toBeGreaterThan(5);
  });
});

describe("output", () => {
  it("aligns columns and colours only on a TTY without NO_COLOR", () => {
    expect(
      formatTable(
        ["name", "v"],
        [
          ["a", 1],
          ["longer", null],
        ],
      ),
    ).toBe("NAME    V\na       1\nlonger  -\n");
    expect(useColour({ write: () => true, isTTY: true }, {})).toBe(true);
    expect(useColour({ write: () => true, isTTY: true }, { NO_COLOR: "1" })).toBe(false);
    expect(useColour({ write: () => true, isTTY: false }, {})).toBe(false);
  });
});
