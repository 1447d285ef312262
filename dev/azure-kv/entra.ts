import { sameSecret, type IssuedTokens } from "../kms/control";
import type { AzureEmulatorConfig } from "./config";

/**
 * Entra's v2 token endpoint for the client-credentials grant
 * (learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow): checks the
 * directory, client id and secret and a Key Vault or Managed HSM `.default` scope, and issues an
 * opaque token the key routes then require. Errors are Entra's OAuth error bodies.
 */

const SCOPES = new Set(["https://vault.azure.net/.default", "https://managedhsm.azure.net/.default"]);
const TOKEN_TTL_S = 3599;

/** Handles `POST /{tenant}/oauth2/v2.0/token`. */
export async function handleEntraToken(
  request: Request,
  tenant: string,
  config: AzureEmulatorConfig,
  tokens: IssuedTokens,
): Promise<Response> {
  if (request.method !== "POST")
    return oauthError(405, "invalid_request", "AADSTS900561: The endpoint only accepts POST requests.");
  if (tenant !== config.tenantId)
    return oauthError(400, "invalid_tenant", `AADSTS90002: Tenant '${tenant.slice(0, 64)}' not found.`);
  // Bytes, not .text(): workerd warns when .text() meets a form Content-Type.
  const form = new URLSearchParams(new TextDecoder().decode(await request.arrayBuffer()));
  if (form.get("grant_type") !== "client_credentials")
    return oauthError(400, "unsupported_grant_type", "AADSTS70003: unsupported grant_type.");
  if (!SCOPES.has(form.get("scope") ?? ""))
    return oauthError(
      400,
      "invalid_scope",
      "AADSTS70011: The provided value for the input parameter 'scope' is not valid.",
    );
  const idOk = await sameSecret(form.get("client_id") ?? "", config.clientId);
  const secretOk = await sameSecret(form.get("client_secret") ?? "", config.clientSecret);
  if (!idOk || !secretOk) return oauthError(401, "invalid_client", "AADSTS7000215: Invalid client secret provided.");
  return Response.json({
    token_type: "Bearer",
    expires_in: TOKEN_TTL_S,
    ext_expires_in: TOKEN_TTL_S,
    access_token: tokens.issue(TOKEN_TTL_S),
  });
}

function oauthError(status: number, error: string, description: string): Response {
  return Response.json({ error, error_description: description }, { status });
}
