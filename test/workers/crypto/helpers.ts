/** Shared, stateless fixtures for the crypto tests (no module-level mutable state). */
import { hexToBytes, utf8Encode } from "../../../worker/core/crypto/encoding";
import {
  DECRYPTION_FAILED_MESSAGE,
  DecryptionError,
  importTenantKek,
  sealCredentialValue,
  type CredentialContext,
  type SealedCredentialValue,
  type TenantKek,
} from "../../../worker/core/crypto/envelope";

/** Fixed KEK bytes; tests re-import them so each test owns its keys. */
export const KEK_A_HEX = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
export const KEK_B_HEX = "f0e0d0c0b0a090807060504030201000f1e1d1c1b1a191817161514131211101";

/** The context most tests seal under. */
export const CTX: CredentialContext = Object.freeze({ tenantId: "t_acme", credentialId: "cred_01", version: 1 });

/** A KEK from hex, with its version. */
export async function kekFromHex(hex: string, version: number): Promise<TenantKek> {
  const raw = hexToBytes(hex);
  try {
    return await importTenantKek(raw, version);
  } finally {
    raw.fill(0);
  }
}

/** Fresh KEK A (version 1) and a small sealed value under CTX. */
export async function sealedFixture(plaintext = "s3cr3t"): Promise<{
  kek: TenantKek;
  plaintext: Uint8Array;
  sealed: SealedCredentialValue;
}> {
  const kek = await kekFromHex(KEK_A_HEX, 1);
  const pt = utf8Encode(plaintext);
  return { kek, plaintext: pt, sealed: await sealCredentialValue(pt, kek, CTX) };
}

/**
 * Resolves to "ok" if `p` resolves, "decryption-error" if it rejects with a DecryptionError that
 * carries exactly the fixed message and nothing else, and "other-error" for any other rejection.
 */
export async function outcome(p: Promise<unknown>): Promise<"ok" | "decryption-error" | "other-error"> {
  try {
    await p;
    return "ok";
  } catch (e) {
    const uniform =
      e instanceof DecryptionError &&
      e.message === DECRYPTION_FAILED_MESSAGE &&
      e.name === "DecryptionError" &&
      e.cause === undefined &&
      Object.keys(e).length === 1; // only the own `name` field: no extra detail attached
    return uniform ? "decryption-error" : "other-error";
  }
}

/** A copy of `bytes` with bit `bit` (0 = MSB of byte 0) flipped. */
export function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = bytes.slice();
  out[bit >> 3]! ^= 0x80 >> (bit & 7);
  return out;
}
