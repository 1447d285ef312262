import { z } from "zod";
import { base64urlToBytes } from "../../worker/core/crypto/encoding";
import type { IssuedTokens } from "../kms/control";
import type { GcpEmulatorConfig } from "./config";

/**
 * Google's OAuth token endpoint for the JWT bearer grant (RFC 7523), as a service account uses
 * it: verifies the RS256 assertion against the one service account's public key and issues an
 * opaque access token the KMS routes then require. Errors are RFC 6749 §5.2 bodies.
 */

const SCOPE = "https://www.googleapis.com/auth/cloudkms";
/** Google refuses assertions that live longer than an hour. */
const MAX_LIFETIME_S = 3600;
const SKEW_S = 60;
const TOKEN_TTL_S = 3599;

const Header = z.object({ alg: z.literal("RS256"), typ: z.literal("JWT").optional(), kid: z.string().optional() });
const Claims = z.object({
  iss: z.string(),
  scope: z.string(),
  aud: z.string(),
  iat: z.number().int(),
  exp: z.number().int(),
});

/** Handles `POST /token`. */
export async function handleToken(
  request: Request,
  config: GcpEmulatorConfig,
  tokens: IssuedTokens,
): Promise<Response> {
  if (request.method !== "POST") return oauthError(405, "invalid_request", "POST only");
  // Bytes, not .text(): workerd warns when .text() meets a form Content-Type.
  const form = new URLSearchParams(new TextDecoder().decode(await request.arrayBuffer()));
  if (form.get("grant_type") !== "urn:ietf:params:oauth:grant-type:jwt-bearer") {
    return oauthError(400, "unsupported_grant_type", "Invalid grant_type");
  }
  const problem = await verifyAssertion(form.get("assertion") ?? "", config, tokenUrl(request));
  if (problem) return oauthError(400, "invalid_grant", problem);
  return Response.json({ access_token: tokens.issue(TOKEN_TTL_S), expires_in: TOKEN_TTL_S, token_type: "Bearer" });
}

/** The URL the client posted to, by its Host header (wrangler dev may rewrite request.url). */
function tokenUrl(request: Request): string {
  const url = new URL(request.url);
  const host = request.headers.get("host");
  if (host) url.host = host;
  return `${url.origin}${url.pathname}`;
}

/** Returns why the assertion is refused, or undefined if it is good. */
async function verifyAssertion(
  assertion: string,
  config: GcpEmulatorConfig,
  audience: string,
): Promise<string | undefined> {
  const parts = assertion.split(".");
  if (parts.length !== 3) return "Invalid JWT: not three parts";
  let header: unknown;
  let claims: unknown;
  let signature: Uint8Array;
  try {
    header = JSON.parse(new TextDecoder().decode(base64urlToBytes(parts[0]!)));
    claims = JSON.parse(new TextDecoder().decode(base64urlToBytes(parts[1]!)));
    signature = base64urlToBytes(parts[2]!);
  } catch {
    return "Invalid JWT: bad encoding";
  }
  if (!Header.safeParse(header).success) return "Invalid JWT: header must be RS256";
  const signed = new TextEncoder().encode(`${parts[0]}.${parts[1]}`);
  if (!(await crypto.subtle.verify("RSASSA-PKCS1-v1_5", config.publicKey, signature, signed)))
    return "Invalid JWT Signature.";
  const c = Claims.safeParse(claims);
  if (!c.success) return "Invalid JWT: missing claims";
  const now = Math.floor(Date.now() / 1000);
  if (c.data.iss !== config.clientEmail) return "Invalid JWT: unknown issuer";
  if (c.data.aud !== audience) return "Invalid JWT: aud must be the token endpoint";
  if (!c.data.scope.split(" ").includes(SCOPE)) return "Invalid JWT: scope lacks cloudkms";
  if (c.data.iat > now + SKEW_S || c.data.exp <= now - SKEW_S || c.data.exp - c.data.iat > MAX_LIFETIME_S) {
    return "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.";
  }
  return undefined;
}

function oauthError(status: number, error: string, description: string): Response {
  return Response.json({ error, error_description: description }, { status });
}
