/**
 * SHA-256 (FIPS 180-4) through WebCrypto (or node:crypto where present, below): the one place the
 * project hashes asynchronously.
 * Runs in Workers, Node >= 20 and browsers. The Durable Object, which must hash inside
 * `transactionSync`, uses the synchronous twin in `sha256-sync.ts` (node:crypto); both give the
 * same bytes, which the audit codec relies on (test/workers/audit-log/hash-agreement.test.ts).
 */
import { bytesToHex } from "./encoding";

const encoder = new TextEncoder();

/** The part of node:crypto used here; present in Node (and workerd with nodejs_compat). */
type NodeHash = { createHash(algorithm: "sha256"): { update(data: Uint8Array): { digest(): Uint8Array } } };

/**
 * node:crypto where the runtime has it (process.getBuiltinModule: Node ≥ 20.16), without a static
 * import, so this module still loads in browsers. Verifying a 100,000-entry audit export hashes
 * each entry about three times; WebCrypto's digest runs every call through a thread pool (~16 µs
 * each in Node), the synchronous hash takes ~1 µs (bench/merkle.mjs). Same bytes either way.
 */
const nodeCrypto = (
  globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }
).process?.getBuiltinModule?.("node:crypto") as NodeHash | undefined;

/** SHA-256 digest of `data`; a string is hashed as its UTF-8 (see {@link sha256Hex}). */
export async function sha256(data: Uint8Array | string): Promise<Uint8Array> {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  if (nodeCrypto) return new Uint8Array(nodeCrypto.createHash("sha256").update(bytes).digest());
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

/**
 * Lowercase hex SHA-256 of `data`; a string is hashed as its UTF-8 (WHATWG TextEncoder, so a
 * lone surrogate becomes U+FFFD exactly as node:crypto's `update(text, "utf8")` does).
 */
export async function sha256Hex(data: Uint8Array | string): Promise<string> {
  return bytesToHex(await sha256(data));
}
