/**
 * Well-formed Unicode at the boundary (issue 9 §5). A JSON `\ud800` escape, a URL's `%ED%A0%80`
 * or a JWT claim can carry a lone surrogate into a JavaScript string; such a string has no UTF-8
 * form, so the audit log's canonicaliser and D1 cannot store it. Input is refused with a 400
 * naming where the bad string is, before anything is stored.
 */

// ES2024's String.prototype.isWellFormed: workerd and Node 20 have it; the ES2023 lib does not.
const isWellFormedString = (String.prototype as unknown as { isWellFormed: (this: string) => boolean }).isWellFormed;

/** True when `text` has no lone surrogate (it is valid UTF-16, so it has a UTF-8 form). */
export function isWellFormed(text: string): boolean {
  return isWellFormedString.call(text);
}

/**
 * The JSON-path-like location (`body.agent.name`, `body.tags[2]`, `query.cursor`) of the first
 * string, member name included, in `value` that is not well-formed, or null when all are.
 */
export function findIllFormed(value: unknown, path: string): string | null {
  if (typeof value === "string") return isWellFormed(value) ? null : path;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const hit = findIllFormed(value[i], `${path}[${i}]`);
      if (hit !== null) return hit;
    }
    return null;
  }
  if (typeof value === "object" && value !== null) {
    for (const [key, member] of Object.entries(value)) {
      // The key is shown only once it is known to be well-formed (the message is JSON, too).
      const at = isWellFormed(key) ? `${path}.${key}` : `${path} (a member name)`;
      if (!isWellFormed(key)) return at;
      const hit = findIllFormed(member, at);
      if (hit !== null) return hit;
    }
  }
  return null;
}
