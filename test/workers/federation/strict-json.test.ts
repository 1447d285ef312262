/** Duplicate-member detection for JOSE JSON, checked against JSON.parse on generated documents. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { findDuplicateMemberName, parseStrictJsonObject } from "../../../worker/core/federation/strict-json";

describe("parseStrictJsonObject", () => {
  it("accepts what JSON.stringify writes, at any depth (property)", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (obj) => {
        const r = parseStrictJsonObject(JSON.stringify(obj, null, 1));
        expect(r.ok).toBe(true);
        if (r.ok) expect(r.value).toEqual(JSON.parse(JSON.stringify(obj)));
      }),
    );
  });

  it("finds a duplicate inserted at any depth (property)", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.string(), fc.jsonValue(), (inner, name, v) => {
        const dupObject = `{${JSON.stringify(name)}:${JSON.stringify(v)},"k":${JSON.stringify(inner)},${JSON.stringify(name)}:1}`;
        const text = `{"outer":[${JSON.stringify(inner)},${dupObject}]}`;
        expect(findDuplicateMemberName(text)).toBe(name);
        expect(parseStrictJsonObject(text).ok).toBe(false);
      }),
    );
  });

  it("compares names after unescaping, and per object", () => {
    expect(findDuplicateMemberName('{"ref":1,"\\u0072ef":2}')).toBe("ref");
    expect(findDuplicateMemberName('{"a":{"a":{"a":1}},"b":[{"a":1},{"a":2}]}')).toBeNull();
    expect(findDuplicateMemberName('{"a":"\\"a\\"","x":{"a":1},"a\\"":2}')).toBeNull();
    expect(findDuplicateMemberName('{"a":"}","a":1}')).toBe("a");
  });

  it("refuses lone surrogates in values and member names at any depth; a surrogate pair is fine", () => {
    for (const text of [
      '{"ref":"\\ud800"}',
      '{"a":{"b":["x","\\udfff"]}}',
      '{"\\ud800":1}',
      '{"a":"x\\udc00\\ud800"}',
    ]) {
      const r = parseStrictJsonObject(text);
      expect(r.ok, text).toBe(false);
      if (!r.ok) expect(r.message).toContain("not well-formed Unicode");
    }
    expect(parseStrictJsonObject('{"a":{"b":["x","\\ud83d\\ude00"]}}')).toEqual({
      ok: true,
      value: { a: { b: ["x", "😀"] } },
    });
    const nested = parseStrictJsonObject('{"a":{"b":["x","\\udfff"]}}');
    expect(nested.ok ? "" : nested.message).toContain("a.b.1");
  });

  it("refuses non-objects and invalid JSON", () => {
    for (const text of ["[]", "null", "1", '"x"', "{", "{'a':1}", ""])
      expect(parseStrictJsonObject(text).ok).toBe(false);
    expect(parseStrictJsonObject("{}").ok).toBe(true);
  });
});
