// C2SP verifier keys from an Ed25519 seed, with node:crypto: for `npm run dev` (dev/dev-vars.mjs)
// and the workers test configuration (test/witness-env.ts), which both run before any Worker.

import { createHash, createPrivateKey } from "node:crypto";

/** RFC 8410 §7 PKCS#8 prefix of a 32-byte Ed25519 seed (as worker/core/audit/ed25519.ts). */
const PKCS8_SEED_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

/**
 * `name+hex(keyID)+base64(type‖public key)` for the Ed25519 key of `seedHex`: type 0x01 for a
 * log's signed-note key, 0x04 for a witness's cosignature/v1 key (key ID = SHA-256(name‖0x0A‖type‖key)[:4]).
 * @param {string} name
 * @param {string} seedHex 64 hex characters
 * @param {number} type
 * @returns {string}
 */
export function vkeyOf(name, seedHex, type) {
  const pkcs8 = Buffer.concat([PKCS8_SEED_PREFIX, Buffer.from(seedHex, "hex")]);
  const jwk = createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" }).export({ format: "jwk" });
  const pub = Buffer.from(/** @type {string} */ (jwk.x), "base64url");
  const id = createHash("sha256")
    .update(Buffer.concat([Buffer.from(name), Buffer.from([0x0a, type]), pub]))
    .digest()
    .subarray(0, 4);
  return `${name}+${id.toString("hex")}+${Buffer.concat([Buffer.from([type]), pub]).toString("base64")}`;
}
