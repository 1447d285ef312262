/**
 * JSON Canonicalization Scheme (JCS), RFC 8785.
 *
 * Audit entries are hashed over these bytes (DESIGN.md "Audit log"), so any two implementations
 * that agree on the entry's data must agree byte for byte. Input is limited to what RFC 8785 §3.1
 * can represent (I-JSON, RFC 7493): anything else is refused with a {@link CanonicalJsonError}
 * instead of being silently dropped or coerced the way `JSON.stringify` would.
 */

/** A value RFC 8785 can canonicalise. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | JsonObject;

/** A JSON object whose members are all {@link JsonValue}s. */
export interface JsonObject {
  readonly [key: string]: JsonValue;
}

/** Thrown when a value has no RFC 8785 representation; `path` locates it (`$.details.n`). */
export class CanonicalJsonError extends Error {
  override readonly name = "CanonicalJsonError";
  constructor(
    /** JSONPath-like location of the offending value, `$` being the root. */
    readonly path: string,
    problem: string,
  ) {
    super(`${path}: ${problem}`);
  }
}

/**
 * Canonicalises `value` per RFC 8785: members sorted by UTF-16 code units, ECMAScript number
 * serialisation, minimal string escaping, no whitespace.
 *
 * Accepts `unknown` because audit details are assembled at runtime; every value is checked.
 * @throws CanonicalJsonError for undefined, functions, symbols, bigints, non-finite numbers,
 *   lone surrogates, sparse arrays, cycles, symbol keys and any object that is not a plain
 *   object or array (Date, Map, class instances...).
 */
export function canonicalize(value: unknown): string {
  return serialize(value, "$", new Set());
}

/** UTF-8 bytes of {@link canonicalize}(value): the form that is hashed and signed. */
export function canonicalBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(canonicalize(value));
}

function serialize(value: unknown, path: string, ancestors: Set<object>): string {
  switch (typeof value) {
    case "string":
      return serializeString(value, path);
    case "number":
      return serializeNumber(value, path);
    case "boolean":
      return value ? "true" : "false";
    case "object":
      if (value === null) return "null";
      return serializeContainer(value, path, ancestors);
    default:
      // undefined, function, symbol, bigint: RFC 8785 §3.2.2 has no representation for them,
      // and JSON.stringify would drop or throw inconsistently, so refuse by name.
      throw new CanonicalJsonError(path, `${typeof value} is not a JSON value`);
  }
}

/**
 * RFC 8785 §3.2.2.3: numbers are serialised exactly as ECMAScript Number.prototype.toString
 * (ECMA-262 Number::toString), which is what String(n) does. NaN and ±Infinity are not JSON
 * (RFC 8785 §3.2.2.3 requires an error); -0 must come out as "0", and String(-0) is "0".
 */
function serializeNumber(n: number, path: string): string {
  if (!Number.isFinite(n)) throw new CanonicalJsonError(path, `${n} is not a JSON number`);
  return String(n);
}

/**
 * RFC 8785 §3.2.2.2: escape `"` and `\`; the controls U+0008, U+0009, U+000A, U+000C and U+000D
 * as \b \t \n \f \r; other U+0000..U+001F as \u00hh with lowercase hex; everything else verbatim.
 * Lone surrogates cannot be encoded as UTF-8 (RFC 8785 §3.2.2.2 / I-JSON RFC 7493 §2.1), so they
 * are refused rather than replaced with U+FFFD, which would hash a different string.
 */
function serializeString(s: string, path: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) throw loneSurrogate(path, c);
      out += s[i]! + s[i + 1]!;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      throw loneSurrogate(path, c);
    } else if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += "\\\\";
    else if (c < 0x20) out += SHORT_ESCAPES[c] ?? `\\u00${c.toString(16).padStart(2, "0")}`;
    else out += s[i]!;
  }
  return out + '"';
}

const SHORT_ESCAPES: Readonly<Record<number, string>> = {
  0x08: "\\b",
  0x09: "\\t",
  0x0a: "\\n",
  0x0c: "\\f",
  0x0d: "\\r",
};

function loneSurrogate(path: string, unit: number): CanonicalJsonError {
  return new CanonicalJsonError(path, `lone surrogate U+${unit.toString(16).toUpperCase()} in string`);
}

function serializeContainer(value: object, path: string, ancestors: Set<object>): string {
  if (ancestors.has(value)) throw new CanonicalJsonError(path, "cyclic structure");
  ancestors.add(value);
  try {
    if (Array.isArray(value)) return serializeArray(value, path, ancestors);
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      const kind = (value as { constructor?: { name?: unknown } }).constructor?.name;
      throw new CanonicalJsonError(path, `${typeof kind === "string" ? kind : "object"} is not a plain object`);
    }
    if (Object.getOwnPropertySymbols(value).length > 0) {
      throw new CanonicalJsonError(path, "symbol-keyed properties have no JSON form");
    }
    // RFC 8785 §3.2.3: sort member names by their UTF-16 code units. JavaScript's `<` on
    // strings compares code units, which is exactly that order (not code points, not locale).
    const keys = Object.keys(value).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const record = value as Record<string, unknown>;
    const members = keys.map((k) => {
      const memberPath = `${path}.${k}`;
      return `${serializeString(k, memberPath)}:${serialize(record[k], memberPath, ancestors)}`;
    });
    return `{${members.join(",")}}`;
  } finally {
    ancestors.delete(value);
  }
}

function serializeArray(items: readonly unknown[], path: string, ancestors: Set<object>): string {
  const parts: string[] = [];
  for (let i = 0; i < items.length; i++) {
    // A hole would read as undefined; JSON.stringify turns it into null, which hides a bug.
    if (!(i in items)) throw new CanonicalJsonError(`${path}[${i}]`, "sparse array hole");
    parts.push(serialize(items[i], `${path}[${i}]`, ancestors));
  }
  return `[${parts.join(",")}]`;
}
