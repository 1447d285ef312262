/**
 * Identifiers. Every id is a kind prefix plus random hex, so a leaked id says what it names
 * and nothing about what it protects. Tenant ids contain no "_" because tokens embed them
 * between underscores (`gv_<kind>_<tenantId>_<secret>`).
 */

import { bytesToHex } from "./crypto/encoding";

const ID_BYTES = 12;

function randomHex(bytes: number): string {
  return bytesToHex(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** The prefixes of the ids the vault issues. */
export type IdKind = "cred" | "tok" | "lease" | "trust" | "hook" | "areq";

/** A fresh random id such as `cred_4f1c…` (24 hex characters after the prefix). */
export function newId(kind: IdKind): string {
  return `${kind}_${randomHex(ID_BYTES)}`;
}

/** A fresh tenant id: 20 lowercase hex characters. */
export function newTenantId(): string {
  return randomHex(10);
}

/** Shapes of ids accepted at the API boundary. */
export const ID_PATTERNS = {
  tenant: /^[0-9a-f]{20}$/,
  cred: /^cred_[0-9a-f]{24}$/,
  tok: /^tok_[0-9a-f]{24}$/,
  lease: /^lease_[0-9a-f]{24}$/,
  trust: /^trust_[0-9a-f]{24}$/,
  hook: /^hook_[0-9a-f]{24}$/,
  areq: /^areq_[0-9a-f]{24}$/,
} as const;

/** The secret part of a token: 32 random bytes as hex. */
export function newTokenSecret(): string {
  return randomHex(32);
}
