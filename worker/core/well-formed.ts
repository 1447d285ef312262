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

/** Longest member name a location spells out; longer ones are cut, so a message stays short. */
const MAX_KEY_IN_PATH = 64;
/** Longest location shown: nesting is the caller's choice, too. */
const MAX_PATH_LENGTH = 200;

/**
 * Where the first string in `value` that is not well-formed sits, member names included, as a
 * dotted path like zod's issue paths (`agent.name`, `tags.2`), or `where` itself for the root;
 * null when every string is well-formed.
 */
export function findIllFormed(value: unknown, where: string): string | null {
  const path = illFormedPath(value);
  if (path === null) return null;
  const joined = path.length === 0 ? where : path.join(".");
  return joined.length > MAX_PATH_LENGTH ? `${joined.slice(0, MAX_PATH_LENGTH)}…` : joined;
}

function illFormedPath(value: unknown): string[] | null {
  if (typeof value === "string") return isWellFormed(value) ? null : [];
  if (typeof value !== "object" || value === null) return null;
  const entries: [string, unknown][] = Array.isArray(value)
    ? value.map((v, i) => [String(i), v])
    : Object.entries(value);
  for (const [key, member] of entries) {
    // An ill-formed member name is reported by its parent's path: it cannot be shown as text.
    if (!isWellFormed(key)) return ["(a member name)"];
    const below = illFormedPath(member);
    if (below !== null) return [key.length > MAX_KEY_IN_PATH ? `${key.slice(0, MAX_KEY_IN_PATH)}…` : key, ...below];
  }
  return null;
}

/** The message of a 400 for an ill-formed string at `path` in `where` (body, query, path). */
export function illFormedMessage(where: string, path: string): string {
  return `invalid ${where}: ${path}: must be well-formed Unicode (a lone surrogate such as \\ud800 has no UTF-8 form)`;
}
