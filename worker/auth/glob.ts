/**
 * Identity globs, as ACL rules and break-glass filters use them:
 * - `*` matches any run of characters, including none and including `:`, `/` and `@`;
 * - `?` matches exactly one character;
 * - every other character matches itself; matching is case-sensitive and whole-string.
 * There is no escape: identities cannot contain `*` or `?` usefully, so none is needed.
 */
export function globToRegExp(glob: string): RegExp {
  const body = Array.from(glob, (ch) => (ch === "*" ? ".*" : ch === "?" ? "." : ch.replace(/[\\^$.|+()[\]{}]/g, "\\$&"))).join("");
  return new RegExp(`^${body}$`, "s");
}

/** True when `identity` matches `glob`. */
export function globMatches(glob: string, identity: string): boolean {
  return globToRegExp(glob).test(identity);
}
