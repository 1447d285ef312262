import { describe, expect, it } from "vitest";
import { binary, scrubBytes, SCRUBBED } from "../../../durable-objects/ops/use-upstream";

// binary() turns every proxied answer into a one-char-per-byte string twice (scrub, then base64).
// It was rewritten for speed (bench/results/proxy-notes.md: 64 KB took ~2.5 ms with the spread
// form); these pin that the output is unchanged: every byte value, across chunk boundaries.
describe("binary(): bytes as a one-char-per-byte string", () => {
  it("maps every byte value to the char of that code, in order, across chunk boundaries", () => {
    const bytes = new Uint8Array(100_003).map((_, i) => (i * 7 + (i >> 8)) & 0xff);
    const text = binary(bytes);
    expect(text.length).toBe(bytes.length);
    for (let i = 0; i < bytes.length; i++)
      if (text.charCodeAt(i) !== bytes[i]) expect.fail(`char ${i} is ${text.charCodeAt(i)}, byte is ${bytes[i]}`);
    expect(binary(new Uint8Array(0))).toBe("");
  });

  it("a value straddling a chunk boundary of a large body is still scrubbed (control: the body without it is unchanged)", () => {
    const value = "sk-live-0123456789abcdef";
    const enc = new TextEncoder();
    const filler = "x".repeat(0x2000 - 5);
    const withValue = enc.encode(`${filler}${value}${"y".repeat(70_000)}`);
    const out = scrubBytes(withValue, [value]);
    expect(out.scrubbed).toBe(true);
    expect(new TextDecoder().decode(out.bytes)).toBe(`${filler}${SCRUBBED}${"y".repeat(70_000)}`);
    const without = enc.encode(`${filler}${"y".repeat(70_000)}`);
    expect(scrubBytes(without, [value])).toEqual({ bytes: without, scrubbed: false });
  });
});
