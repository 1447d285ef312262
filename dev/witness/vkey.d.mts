/** `name+hex(keyID)+base64(type‖public key)` for the Ed25519 key of a 32-byte hex seed (vkey.mjs). */
export function vkeyOf(name: string, seedHex: string, type: number): string;
