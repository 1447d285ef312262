/**
 * JSON parsing for JOSE headers and JWT claim sets that refuses duplicate member names.
 *
 * RFC 7515 §4 and RFC 7519 §4 allow a parser either to reject duplicate names or to keep the
 * lexically last one (what `JSON.parse` does). We reject: two parsers that disagree on which
 * duplicate wins is a classic source of "the signer saw one claim, the verifier another"
 * (RFC 8725 §2.8), and no legitimate issuer emits duplicates.
 */

import { findIllFormed } from "../well-formed";

/** Parsed JSON object, or a short reason it was refused. */
export type StrictJsonResult = { ok: true; value: Record<string, unknown> } | { ok: false; message: string };

/**
 * Parses `text` as a JSON object (not an array or scalar) with unique member names at every depth
 * and only well-formed strings. Never throws.
 */
export function parseStrictJsonObject(text: string): StrictJsonResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, message: "not valid JSON" };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, message: "not a JSON object" };
  }
  const dup = findDuplicateMemberName(text);
  if (dup !== null) return { ok: false, message: `duplicate member name ${JSON.stringify(dup)}` };
  // A `\ud800` escape is valid JSON but no Unicode text: refused before a claim reaches a template,
  // a condition or the audit log (issue 9 §5).
  const illFormed = findIllFormed(value, "(the object itself)");
  if (illFormed !== null)
    return { ok: false, message: `the string at ${illFormed} is not well-formed Unicode (lone surrogate)` };
  return { ok: true, value: value as Record<string, unknown> };
}

/**
 * Scans text that `JSON.parse` already accepted and returns the first member name that repeats
 * within one object, compared after unescaping (so `"a"` and `"\u0061"` collide), or null.
 */
export function findDuplicateMemberName(validJson: string): string | null {
  // One entry per open container: a Set of names for objects, null for arrays.
  const stack: (Set<string> | null)[] = [];
  let expectingName = false;
  for (let i = 0; i < validJson.length; i++) {
    const ch = validJson[i];
    if (ch === "{") {
      stack.push(new Set());
      expectingName = true;
    } else if (ch === "[") {
      stack.push(null);
      expectingName = false;
    } else if (ch === "}" || ch === "]") {
      stack.pop();
      expectingName = false;
    } else if (ch === ",") {
      expectingName = stack[stack.length - 1] instanceof Set;
    } else if (ch === '"') {
      let j = i + 1;
      while (validJson[j] !== '"') j += validJson[j] === "\\" ? 2 : 1;
      if (expectingName) {
        // The literal is valid JSON (the whole text parsed), so this cannot throw.
        const name = JSON.parse(validJson.slice(i, j + 1)) as string;
        const names = stack[stack.length - 1];
        if (names instanceof Set) {
          if (names.has(name)) return name;
          names.add(name);
        }
        expectingName = false;
      }
      i = j;
    }
  }
  return null;
}
