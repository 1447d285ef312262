import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CanonicalJsonError, canonicalBytes, canonicalize } from "../../../worker/core/audit/canonical-json";

/** Reads an IEEE 754 double from its 16 hex digit big-endian bit pattern. */
function double(hex: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${hex}`));
  return view.getFloat64(0);
}

describe("RFC 8785 Appendix B: number serialisation samples", () => {
  // [IEEE 754 bit pattern, expected JCS output] as listed in RFC 8785 Appendix B.
  const samples: ReadonlyArray<readonly [string, string]> = [
    ["0000000000000000", "0"],
    ["8000000000000000", "0"],
    ["0000000000000001", "5e-324"],
    ["8000000000000001", "-5e-324"],
    ["7fefffffffffffff", "1.7976931348623157e+308"],
    ["ffefffffffffffff", "-1.7976931348623157e+308"],
    ["4340000000000000", "9007199254740992"],
    ["c340000000000000", "-9007199254740992"],
    ["4430000000000000", "295147905179352830000"],
    ["44b52d02c7e14af5", "9.999999999999997e+22"],
    ["44b52d02c7e14af6", "1e+23"],
    ["44b52d02c7e14af7", "1.0000000000000001e+23"],
    ["444b1ae4d6e2ef4e", "999999999999999700000"],
    ["444b1ae4d6e2ef4f", "999999999999999900000"],
    ["444b1ae4d6e2ef50", "1e+21"],
    ["3eb0c6f7a0b5ed8c", "9.999999999999997e-7"],
    ["3eb0c6f7a0b5ed8d", "0.000001"],
    ["41b3de4355555553", "333333333.3333332"],
    ["41b3de4355555554", "333333333.33333325"],
    ["41b3de4355555555", "333333333.3333333"],
    ["41b3de4355555556", "333333333.3333334"],
    ["41b3de4355555557", "333333333.33333343"],
    ["becbf647612f3696", "-0.0000033333333333333333"],
    ["43143ff3c1cb0959", "1424953923781206.2"],
  ];

  it.each(samples)("%s serialises as %s", (bits, expected) => {
    expect(canonicalize(double(bits))).toBe(expected);
  });

  it.each(["7fffffffffffffff", "7ff0000000000000", "fff0000000000000"])(
    "%s (NaN / Infinity) is an error, as Appendix B requires",
    (bits) => {
      expect(() => canonicalize(double(bits))).toThrow(CanonicalJsonError);
    },
  );
});

describe("RFC 8785 examples", () => {
  it("§3.2.3 sorts member names by UTF-16 code units", () => {
    const input = JSON.parse(`{
      "\\u20ac": "Euro Sign",
      "\\r": "Carriage Return",
      "\\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One",
      "\\ud83d\\ude00": "Emoji: Grinning Face",
      "\\u0080": "Control",
      "\\u00f6": "Latin Small Letter O With Diaeresis"
    }`) as unknown;
    expect(canonicalize(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it("§3.2.2 / §3.2.4 sample object canonicalises to the published string and UTF-8 bytes", () => {
    const input = JSON.parse(`{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\"\\/",
      "literals": [null, true, false]
    }`) as unknown;
    const expected =
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
      '"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}';
    expect(canonicalize(input)).toBe(expected);
    // §3.2.4 shows the UTF-8 of the string: "€" is the only non-ASCII character (e2 82 ac).
    const bytes = canonicalBytes(input);
    expect(bytes.length).toBe(expected.length + 2);
    expect(Array.from(bytes.slice(0, 12))).toEqual([
      0x7b, 0x22, 0x6c, 0x69, 0x74, 0x65, 0x72, 0x61, 0x6c, 0x73, 0x22, 0x3a,
    ]);
    const euro = bytes.indexOf(0xe2);
    expect(Array.from(bytes.slice(euro, euro + 4))).toEqual([0xe2, 0x82, 0xac, 0x24]);
  });
});

describe("canonicalize", () => {
  it("writes no whitespace and keeps array order while sorting nested members", () => {
    expect(canonicalize({ b: [3, 1, { z: 1, a: [] }], a: { y: null, x: true } })).toBe(
      '{"a":{"x":true,"y":null},"b":[3,1,{"a":[],"z":1}]}',
    );
  });

  it("orders by code units, not by numeric value or code point", () => {
    // JS engines enumerate integer-like keys numerically ("9" before "10"); JCS does not.
    expect(canonicalize({ "9": 0, "10": 0, a: 0 })).toBe('{"10":0,"9":0,"a":0}');
    // U+FB33 (one unit, 0xFB33) sorts after U+1F600 (surrogates 0xD83D 0xDE00) by code units.
    expect(canonicalize({ "\ufb33": 0, "\u{1f600}": 0 })).toBe('{"\u{1f600}":0,"\ufb33":0}');
  });

  it("writes -0 as 0", () => {
    expect(canonicalize(-0)).toBe("0");
    expect(canonicalize([-0, 0.1, 1e21, 1e-7])).toBe("[0,0.1,1e+21,1e-7]");
  });

  it("escapes exactly what §3.2.2.2 says", () => {
    expect(canonicalize("\b\t\n\f\r")).toBe('"\\b\\t\\n\\f\\r"');
    expect(canonicalize("\u0000\u0001\u000b\u001f")).toBe('"\\u0000\\u0001\\u000b\\u001f"');
    expect(canonicalize('"\\/')).toBe('"\\"\\\\/"');
    expect(canonicalize("\u007f\u2028\u00e9\u{1f600}")).toBe('"\u007f\u2028\u00e9\u{1f600}"');
  });

  it("escapes keys like strings", () => {
    expect(canonicalize({ 'a"\n': 1 })).toBe('{"a\\"\\n":1}');
  });

  it.each<[string, unknown]>([
    ["undefined", undefined],
    ["a function", () => 1],
    ["a bigint", 1n],
    ["a symbol", Symbol("s")],
    ["NaN", Number.NaN],
    ["-Infinity", Number.NEGATIVE_INFINITY],
    ["a Date", new Date(0)],
    ["a Map", new Map()],
    ["a class instance", new (class Thing {})()],
    ["a lone high surrogate", "a\ud800b"],
    ["a lone low surrogate", "\udc00"],
    ["a key with a lone surrogate", { "\ud800": 1 }],
  ])("refuses %s", (_label, value) => {
    expect(() => canonicalize(value)).toThrow(CanonicalJsonError);
  });

  it("refuses undefined members, sparse arrays, symbol keys and cycles, naming the path", () => {
    expect(() => canonicalize({ a: { b: undefined } })).toThrow("$.a.b: undefined is not a JSON value");
    expect(() => canonicalize([1, , 3])).toThrow("$[1]: sparse array hole");
    expect(() => canonicalize({ [Symbol("k")]: 1 })).toThrow(CanonicalJsonError);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => canonicalize(cyclic)).toThrow("$.self: cyclic structure");
  });

  it("accepts null-prototype objects and repeated (non-cyclic) references", () => {
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { b: 1, a: 2 });
    const shared = { x: 1 };
    expect(canonicalize(bare)).toBe('{"a":2,"b":1}');
    expect(canonicalize([shared, shared])).toBe('[{"x":1},{"x":1}]');
  });

  it("agrees with JSON.stringify on every well-formed string and finite number", () => {
    fc.assert(fc.property(fc.string({ unit: "binary" }), (s) => canonicalize(s) === JSON.stringify(s)));
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (n) => canonicalize(n) === JSON.stringify(n)),
    );
  });

  // Compared with an independent assembly (JSON.stringify for leaves, keys sorted by code units),
  // not through JSON.parse: workerd's JSON.parse misreads an escaped key. After it has parsed an
  // object with the keys "" and a backslash, parsing one with "" and an escaped double quote gives
  // a backslash key (Node's V8 does not), which made the old round trip fail on random inputs.
  it("writes every JSON value as its keys-sorted JSON text, and is idempotent", () => {
    const byCodeUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
    const reference = (v: unknown): string => {
      if (Array.isArray(v)) return `[${v.map(reference).join(",")}]`;
      if (v === null || typeof v !== "object") return JSON.stringify(v);
      const o = v as Record<string, unknown>;
      return `{${Object.keys(o)
        .sort(byCodeUnits)
        .map((k) => `${JSON.stringify(k)}:${reference(o[k])}`)
        .join(",")}}`;
    };
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = canonicalize(value);
        expect(text).toBe(reference(value));
        expect(canonicalize(structuredClone(value))).toBe(text);
      }),
    );
  });
});
