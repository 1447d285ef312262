import { createSigner, verifierKey, type NoteSigner } from "./signed-note";
import { importSigningKey } from "./ed25519";

/** The name the audit signing key signs under (C2SP signed-note key name). */
export function signingKeyName(host: string): string {
  return `${host}/audit`;
}

/** The signer for checkpoints, from the AUDIT_SIGNING_KEY seed. */
export function auditSigner(seedHex: string, host: string): Promise<NoteSigner> {
  return createSigner(seedHex, signingKeyName(host));
}

/** The public half of the signing key, as raw bytes and as a C2SP verifier key string. */
export async function auditPublicKey(seedHex: string, host: string): Promise<{ keyName: string; publicKey: Uint8Array; vkey: string }> {
  const { publicKey } = await importSigningKey(seedHex);
  const keyName = signingKeyName(host);
  return { keyName, publicKey, vkey: await verifierKey(keyName, publicKey) };
}
