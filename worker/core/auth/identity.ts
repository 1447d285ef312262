/**
 * The one identity grammar (README "Identities"), for every source: API tokens and the sessions
 * derived from them, tenant admins, OIDC identity templates once rendered, and webhooks.
 *
 *   identity = kind ":" name
 *   kind     = "user" | "agent" | "ci" | "service"
 *   name     = 1 to 240 characters from printable ASCII (U+0021..U+007E) except `*` and `?`
 *
 * So an identity is at most 248 characters, has no whitespace or control characters (it shows in
 * logs and terminals as it is), and never holds a glob metacharacter: an ACL rule's `*` or `?` can
 * only ever be the rule's own wildcard, never a character some identity also contains.
 */
import { z } from "zod";

/** The kinds of identity, in the order the README lists them. */
export const IDENTITY_KINDS = ["user", "agent", "ci", "service"] as const;

/** One of {@link IDENTITY_KINDS}. */
export type IdentityKind = (typeof IDENTITY_KINDS)[number];

/** Longest name after `kind:`. */
export const MAX_IDENTITY_NAME_LENGTH = 240;

/** Longest identity: the longest kind, its colon and the longest name. */
export const MAX_IDENTITY_LENGTH = "service:".length + MAX_IDENTITY_NAME_LENGTH;

/** A parsed identity, or the reason a string is not one (a sentence fragment for a 400 message). */
export type IdentityParse = { ok: true; kind: IdentityKind; name: string } | { ok: false; reason: string };

const NAME_CHAR = /^[\x21-\x29\x2b-\x3e\x40-\x7e]+$/; // printable ASCII without `*` (2a) and `?` (3f)

/** Parses `text` against the identity grammar. Never throws. */
export function parseIdentity(text: string): IdentityParse {
  const colon = text.indexOf(":");
  const kind = colon === -1 ? text : text.slice(0, colon);
  if (!(IDENTITY_KINDS as readonly string[]).includes(kind) || colon === -1) {
    return { ok: false, reason: "must look like kind:name with kind user, agent, ci or service" };
  }
  const name = text.slice(colon + 1);
  if (name.length === 0) return { ok: false, reason: "must have a name after the kind" };
  if (name.length > MAX_IDENTITY_NAME_LENGTH)
    return { ok: false, reason: `must have a name of at most ${MAX_IDENTITY_NAME_LENGTH} characters` };
  if (!NAME_CHAR.test(name)) return { ok: false, reason: "must be printable ASCII without spaces, * or ?" };
  return { ok: true, kind: kind as IdentityKind, name };
}

/** True when `text` is an identity. */
export function isIdentity(text: string): boolean {
  return parseIdentity(text).ok;
}

/**
 * An identity in a request or a stored record: `user:alice@acme.com`, `agent:claude-code@laptop`,
 * `ci:github:acme/api@refs/heads/main`, `service:billing`.
 */
export const IdentitySchema = z.string().superRefine((text, ctx) => {
  const parsed = parseIdentity(text);
  if (!parsed.ok) ctx.addIssue({ code: "custom", message: parsed.reason });
});

/** The identity a webhook leases as: `ci:webhook:<name>`; throws if the name breaks the grammar. */
export function webhookIdentity(name: string): string {
  const identity = `ci:webhook:${name}`;
  const parsed = parseIdentity(identity);
  if (!parsed.ok) throw new Error(`webhook name cannot form an identity: ${parsed.reason}`);
  return identity;
}
