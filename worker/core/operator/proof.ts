import { digestsEqual, importPepper } from "../auth/tokens";
import { bytesToHex } from "../crypto/encoding";

/**
 * Proof of operator authority for a tenant's Durable Object (issue 13 §3). The OperatorPlane
 * object (which only the Worker reaches, after checking an operator token) signs each fleet action
 * for one tenant; the tenant's object checks the signature, the tenant and the age before acting.
 * So the object's operator entry point does nothing for a caller that holds a tenant token, or for
 * a replayed proof after PROOF_MAX_AGE_MS, or for another tenant's proof.
 *
 * MAC = HMAC-SHA256(HMAC-SHA256(pepper, "gv/operator-proof/v1"), JSON of the payload): a key of its
 * own, derived from the token pepper, so a stored token hash can never double as a proof.
 */
export interface OperatorProofPayload {
  v: 1;
  /** `operator:<name>`. */
  operator: string;
  token_id: string;
  tenant_id: string;
  /** The job (or request) id the tenant's audit entries carry as their request id. */
  job_id: string;
  /** JSON of the action the proof authorises: a proof for `verify` cannot be used to rotate. */
  action: string;
  issued_at: number;
}

/** A payload and its MAC (hex). */
export interface OperatorProof {
  payload: OperatorProofPayload;
  mac: string;
}

/** How long a proof is accepted after it was issued, either way (clock skew between objects). */
export const PROOF_MAX_AGE_MS = 5 * 60_000;

async function proofKey(pepperHex: string): Promise<CryptoKey> {
  const pepper = await importPepper(pepperHex);
  const derived = await crypto.subtle.sign("HMAC", pepper, new TextEncoder().encode("gv/operator-proof/v1"));
  return crypto.subtle.importKey("raw", derived, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
}

async function mac(pepperHex: string, payload: OperatorProofPayload): Promise<string> {
  // Fixed field order, so signer and verifier serialise the same bytes whatever order they received.
  const p = payload;
  const text = JSON.stringify([p.v, p.operator, p.token_id, p.tenant_id, p.job_id, p.action, p.issued_at]);
  return bytesToHex(
    new Uint8Array(await crypto.subtle.sign("HMAC", await proofKey(pepperHex), new TextEncoder().encode(text))),
  );
}

/** Signs a proof for one tenant and one action. */
export async function signOperatorProof(pepperHex: string, payload: OperatorProofPayload): Promise<OperatorProof> {
  return { payload, mac: await mac(pepperHex, payload) };
}

/** Why a proof was refused, or null when it authorises `action` on `tenantId` now. */
export async function checkOperatorProof(
  pepperHex: string,
  proof: OperatorProof,
  expect: { tenantId: string; action: string; now: number },
): Promise<string | null> {
  const p = proof.payload;
  if (!digestsEqual(await mac(pepperHex, p), proof.mac)) return "bad signature";
  if (p.tenant_id !== expect.tenantId) return "proof is for another tenant";
  if (p.action !== expect.action) return "proof is for another action";
  if (Math.abs(expect.now - p.issued_at) > PROOF_MAX_AGE_MS) return "proof expired";
  return null;
}
