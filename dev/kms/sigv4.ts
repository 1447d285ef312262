import { AwsV4Signer } from "aws4fetch";
import type { EmulatorConfig } from "./config";
import { timingSafeEqual } from "../../worker/core/crypto/primitives";
import { sha256Hex } from "../../worker/core/crypto/sha256";
import { KmsApiError } from "./errors";

/** What a verified request was signed for. */
export interface SignedScope {
  region: string;
}

/** AWS refuses a signature whose X-Amz-Date is more than 15 minutes from its clock. */
const MAX_SKEW_MS = 15 * 60 * 1000;

// The Authorization header of SigV4 (AWS General Reference, "Signature Version 4 signing").
const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/;

/**
 * Derived signing keys, kept across requests as AWS does (aws4fetch's default is a new cache per
 * signer, so four HMACs per request): the emulator runs on the vault's core locally, and a cost
 * the real KMS pays on its own machines should not weigh on the vault's benchmarks. Keyed by the
 * secret, date, region and service; the region comes from the request, so the map is bounded.
 */
const SIGNING_KEYS = new Map<string, ArrayBuffer>();

/**
 * Verifies the SigV4 signature of a KMS request the way AWS does: known access key id, the
 * request's own X-Amz-Date within 15 minutes, and a signature recomputed over the same signed
 * headers and the body actually received, compared in constant time. Throws the AWS error.
 */
export async function verifySignature(
  request: Request,
  body: ArrayBuffer,
  config: EmulatorConfig,
  now: number,
): Promise<SignedScope> {
  const header = request.headers.get("authorization");
  if (header === null) throw new KmsApiError("MissingAuthenticationTokenException", "Missing Authentication Token");
  const match = AUTHORIZATION.exec(header);
  if (!match) throw new KmsApiError("IncompleteSignatureException", "Authorization header is not a SigV4 header.");
  const [, accessKeyId = "", scopeDate = "", region = "", service = "", signedHeaders = "", signature = ""] = match;

  if (accessKeyId !== config.accessKeyId || request.headers.has("x-amz-security-token")) {
    throw new KmsApiError("UnrecognizedClientException", "The security token included in the request is invalid.");
  }
  const amzDate = request.headers.get("x-amz-date") ?? "";
  const signedAt = parseAmzDate(amzDate);
  if (signedAt === undefined || !amzDate.startsWith(scopeDate) || service !== "kms") {
    throw new KmsApiError("IncompleteSignatureException", "Credential scope or X-Amz-Date is invalid.");
  }
  if (Math.abs(now - signedAt) > MAX_SKEW_MS) {
    throw new KmsApiError("InvalidSignatureException", `Signature expired: ${amzDate} is more than 15 min from now.`);
  }
  const names = signedHeaders.split(";");
  if (!names.includes("host") || !names.includes("x-amz-date")) {
    throw new KmsApiError("IncompleteSignatureException", "SignedHeaders must include host and x-amz-date.");
  }
  // A client may send the payload hash as a header; the signer would trust it, so check it
  // against the body we actually got, or a tampered body would pass.
  const claimedHash = request.headers.get("x-amz-content-sha256");
  if (claimedHash !== null && claimedHash !== (await sha256Hex(new Uint8Array(body)))) throw signatureMismatch();

  const headers = new Headers();
  for (const name of names) {
    if (name === "host") continue;
    const value = request.headers.get(name);
    if (value === null) throw signatureMismatch();
    headers.set(name, value);
  }
  if (SIGNING_KEYS.size > 8) SIGNING_KEYS.clear();
  const signer = new AwsV4Signer({
    method: request.method,
    url: signedUrl(request),
    headers,
    body,
    accessKeyId: config.accessKeyId,
    secretAccessKey: config.secretAccessKey,
    service,
    region,
    datetime: amzDate,
    // Sign exactly the client's list: aws4fetch would otherwise drop e.g. content-type,
    // which the AWS SDKs do sign.
    allHeaders: true,
    cache: SIGNING_KEYS,
  });
  if (signer.signedHeaders !== signedHeaders) throw signatureMismatch();
  const expected = new TextEncoder().encode(await signer.signature());
  if (!timingSafeEqual(expected, new TextEncoder().encode(signature))) throw signatureMismatch();
  return { region };
}

/**
 * The URL the client signed. The Host header is what the client put on the wire; request.url
 * may have been rewritten by a proxy in front of the Worker (wrangler dev), so prefer it.
 */
function signedUrl(request: Request): string {
  const url = new URL(request.url);
  const host = request.headers.get("host");
  if (host !== null && host.length > 0) url.host = host;
  return url.toString();
}

/** Parses `YYYYMMDDTHHMMSSZ` (ISO 8601 basic, UTC) into epoch milliseconds. */
function parseAmzDate(value: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number);
  const ms = Date.UTC(y ?? 0, (mo ?? 1) - 1, d, h, mi, s);
  return Number.isNaN(ms) ? undefined : ms;
}

function signatureMismatch(): KmsApiError {
  return new KmsApiError(
    "InvalidSignatureException",
    "The request signature we calculated does not match the signature you provided.",
  );
}
