/**
 * Trust-policy claim conditions and identity templates for federated CI tokens. The claims given
 * here must come from a token {@link verifyJwt} accepted; nothing in this module checks signatures.
 */
import { globMatches } from "../auth/glob";
import { isIdentity, MAX_IDENTITY_LENGTH } from "../auth/identity";
import { isWellFormed } from "../well-formed";

/**
 * Longest claim value a condition is matched against; a longer value matches no condition (fails
 * closed). Claim values come from the CI caller, so they bound the glob matcher's work.
 */
export const MAX_CLAIM_LENGTH = 512;

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
 * one UTF-16 code unit; all else literal; whole string; case-sensitive; see worker/core/auth/glob.ts).
 *
 * A claim value longer than {@link MAX_CLAIM_LENGTH} matches nothing. An empty condition set matches nothing. For a shared issuer such as GitHub Actions, "no
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
    return value !== null && value.length <= MAX_CLAIM_LENGTH && globMatches(pattern, value);
  });
}

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** A template split into literal text and placeholders: literals.length === names.length + 1. */
interface TemplateParts {
  literals: string[];
  names: string[];
  /** Characters a value may keep as they are; everything else is percent-encoded. */
  keeps: (ch: string) => boolean;
}

/**
 * The placeholder names in `template`, in order, or null when the template is unusable: a stray
 * `{` or `}`, or a placeholder name that is not `[A-Za-z_][A-Za-z0-9_]*`.
 */
export function identityTemplatePlaceholders(template: string): string[] | null {
  const names: string[] = [];
  const rest = template.replace(PLACEHOLDER, (_match, name: string) => {
    names.push(name);
    return "";
  });
  return rest.includes("{") || rest.includes("}") ? null : names;
}

/** Splits a template, or says why it cannot render identities that parse back (injectively). */
function templateParts(template: string): TemplateParts | string {
  if (identityTemplatePlaceholders(template) === null) return "placeholders are {claim}; braces must pair";
  const literals: string[] = [];
  const names: string[] = [];
  let last = 0;
  for (const m of template.matchAll(PLACEHOLDER)) {
    literals.push(template.slice(last, m.index));
    names.push(m[1]!);
    last = m.index + m[0].length;
  }
  literals.push(template.slice(last));
  const literal = literals.join("");
  if (/[%*?]/.test(literal)) return "the template's own text may not contain %, * or ?";
  if (names.length > 0 && !literals[0]!.includes(":"))
    return "the kind (ci: or service:) must be literal text, not a placeholder";
  if (!isIdentity(literals.join("x"))) return 'the template must form an identity (kind:name, README "Identities")';
  // Between two placeholders there must be a separator that values cannot contain, or
  // `{a}x{b}` renders a="x", b="xy" and a="xx", b="y" alike.
  for (const between of literals.slice(1, -1)) {
    if (!/[^A-Za-z0-9]/.test(between)) return "placeholders must be separated by punctuation such as : / @ or -";
  }
  // The template's own punctuation is encoded in values, so it only ever appears as a separator.
  const reserved = new Set(Array.from(literal).filter((ch) => !/[A-Za-z0-9]/.test(ch)));
  return { literals, names, keeps: (ch) => VALUE_SAFE.test(ch) && !reserved.has(ch) };
}

/** Why `template` cannot be used as an identity template, or null when it can. For trust creation. */
export function identityTemplateProblem(template: string): string | null {
  const parts = templateParts(template);
  return typeof parts === "string" ? parts : null;
}

// The safe set before the template's own punctuation is removed: printable ASCII except `%` (the
// escape), `*` and `?` (glob wildcards) and braces (placeholder syntax). Letters and digits are
// always safe: a template literal is located by its punctuation, never by its letters.
const VALUE_SAFE = /^[\x21-\x24\x26-\x29\x2b-\x3e\x40-\x7a\x7c\x7e]$/;
const utf8 = new TextEncoder();

/** Percent-encodes (UTF-8, uppercase hex) every character `keeps` refuses; null for ill-formed UTF-16. */
function encodeValue(value: string, keeps: (ch: string) => boolean): string | null {
  if (!isWellFormed(value)) return null;
  let out = "";
  for (const ch of value) {
    if (keeps(ch)) out += ch;
    else for (const b of utf8.encode(ch)) out += `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** Inverse of {@link encodeValue}; null unless `text` is exactly what encodeValue would produce. */
function decodeValue(text: string, keeps: (ch: string) => boolean): string | null {
  if (!/^(?:%[0-9A-F]{2}|[^%])*$/.test(text)) return null;
  let value: string;
  try {
    value = decodeURIComponent(text);
  } catch {
    return null; // not UTF-8
  }
  return encodeValue(value, keeps) === text ? value : null;
}

/**
 * Fills each `{name}` in `template` with the string claim `name`, percent-encoded (UTF-8,
 * uppercase hex) outside the safe set: printable ASCII except `%`, `*`, `?`, `{`, `}` and every
 * punctuation character of the template's own text. With `ci:github:{repository}@{ref}`, a ref
 * `refs/heads/x@refs/heads/main` renders as `ci:github:acme/api@refs/heads/x%40refs/heads/main`,
 * so the only `@` is the template's and no glob written for another ref can match. Rendering is
 * injective: {@link parseRendered} gives the claims back.
 *
 * Returns null, refusing to mint an identity (audited as `claim_not_representable`), when the
 * template is unusable (see {@link identityTemplateProblem}), a placeholder's claim is absent,
 * empty, not a string or not well-formed UTF-16, or the result breaks the identity grammar
 * (worker/core/auth/identity.ts: at most 240 characters after the kind).
 */
export function renderIdentity(template: string, claims: Readonly<Record<string, unknown>>): string | null {
  const parts = templateParts(template);
  if (typeof parts === "string") return null;
  let rendered = parts.literals[0]!;
  for (let i = 0; i < parts.names.length; i++) {
    const name = parts.names[i]!;
    const v = Object.hasOwn(claims, name) ? claims[name] : undefined;
    if (typeof v !== "string" || v === "") return null;
    const encoded = encodeValue(v, parts.keeps);
    if (encoded === null || rendered.length + encoded.length > MAX_IDENTITY_LENGTH) return null;
    rendered += encoded + parts.literals[i + 1]!;
  }
  return isIdentity(rendered) ? rendered : null;
}

/**
 * The claim values `identity` was rendered from by `template`, or null when no claims render it.
 * A placeholder used twice must carry the same value both times.
 */
export function parseRendered(template: string, identity: string): Record<string, string> | null {
  const parts = templateParts(template);
  if (typeof parts === "string" || !identity.startsWith(parts.literals[0]!)) return null;
  const values: Record<string, string> = {};
  let pos = parts.literals[0]!.length;
  for (let i = 0; i < parts.names.length; i++) {
    const after = parts.literals[i + 1]!;
    let end: number;
    if (i === parts.names.length - 1) {
      end = identity.length - after.length;
    } else {
      // The first punctuation of the separator cannot occur inside an encoded value.
      const k = after.search(/[^A-Za-z0-9]/);
      const hit = identity.indexOf(after[k]!, pos);
      end = hit === -1 ? -1 : hit - k;
    }
    if (end <= pos || identity.slice(end, end + after.length) !== after) return null;
    const value = decodeValue(identity.slice(pos, end), parts.keeps);
    const name = parts.names[i]!;
    if (value === null || (Object.hasOwn(values, name) && values[name] !== value)) return null;
    values[name] = value;
    pos = end + after.length;
  }
  return pos === identity.length ? values : null;
}
