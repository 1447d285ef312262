/**
 * Trust-policy claim conditions and identity templates for federated CI tokens. The claims given
 * here must come from a token {@link verifyJwt} accepted; nothing in this module checks signatures.
 */
import { globMatches } from "../auth/glob";

/** Identities the vault knows; a rendered template must be one of these. */
export const IDENTITY_PATTERN = /^(user|agent|ci|service):[\x21-\x7e]{1,240}$/;

/**
 * The string a condition is matched against: strings as they are, finite numbers and booleans
 * stringified (`run_id: 42` matches `"42"`), anything else (object, array, null, absent) null.
 */
export function claimAsString(claims: Readonly<Record<string, unknown>>, name: string): string | null {
  // Own properties only: "constructor" or "__proto__" must not resolve through the prototype.
  if (!Object.hasOwn(claims, name)) return null;
  const v = claims[name];
  if (typeof v === "string") return v;
  if ((typeof v === "number" && Number.isFinite(v)) || typeof v === "boolean") return String(v);
  return null;
}

/**
 * True when every condition holds: the claim named by each key exists and its value matches the
 * pattern, exactly or as a glob (`*` any run including none and including `/`, `:` and `@`; `?`
 * one UTF-16 code unit; all else literal; whole string; case-sensitive; see worker/auth/glob.ts).
 *
 * An empty condition set matches nothing. For a shared issuer such as GitHub Actions, "no
 * conditions" would trust every repository on github.com; the policy must pin at least its owner.
 */
export function matchConditions(
  claims: Readonly<Record<string, unknown>>,
  conditions: Readonly<Record<string, string>>,
): boolean {
  const entries = Object.entries(conditions);
  if (entries.length === 0) return false;
  return entries.every(([name, pattern]) => {
    const value = claimAsString(claims, name);
    return value !== null && globMatches(pattern, value);
  });
}

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
// Whitespace (any Unicode White_Space), C0/C1 controls and braces: a value with these could split an
// identity into something an ACL glob reads differently, or look like an unfilled placeholder.
const FORBIDDEN_IN_VALUE = /[\s\p{Cc}{}]/u;

/**
 * The placeholder names in `template`, in order, or null when the template is unusable: a stray
 * `{` or `}`, or a placeholder name that is not `[A-Za-z_][A-Za-z0-9_]*`. Use it to validate a
 * trust policy when it is created.
 */
export function identityTemplatePlaceholders(template: string): string[] | null {
  const names: string[] = [];
  const rest = template.replace(PLACEHOLDER, (_match, name: string) => {
    names.push(name);
    return "";
  });
  return rest.includes("{") || rest.includes("}") ? null : names;
}

/**
 * Fills each `{name}` in `template` with the string claim `name`, e.g.
 * `ci:github:{repository}@{ref}` → `ci:github:acme/api@refs/heads/main`.
 *
 * Returns null, refusing to mint an identity, when the template is unusable, a placeholder's claim
 * is absent, empty or not a string, a value holds whitespace, a control character, `{` or `}`, or
 * the result does not match {@link IDENTITY_PATTERN} (printable ASCII, at most 240 characters
 * after the kind).
 */
export function renderIdentity(template: string, claims: Readonly<Record<string, unknown>>): string | null {
  if (identityTemplatePlaceholders(template) === null) return null;
  let refused = false;
  const rendered = template.replace(PLACEHOLDER, (_match, name: string) => {
    const v = Object.hasOwn(claims, name) ? claims[name] : undefined;
    if (typeof v !== "string" || v === "" || FORBIDDEN_IN_VALUE.test(v)) {
      refused = true;
      return "";
    }
    return v;
  });
  if (refused || !IDENTITY_PATTERN.test(rendered)) return null;
  return rendered;
}
