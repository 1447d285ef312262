/** The Action's two calls to the vault: lease at the start of the job, revoke at its end. */

import { ActionError, causeOf } from "./runner";

/** The inputs both steps read. */
export interface VaultInputs {
  /** Base URL without a trailing slash. */
  url: string;
  tenant: string;
  /** The `aud` the ID token is requested for; the trust policy's `audience`. */
  audience: string;
}

/** A lease as the vault answers it (the fields the Action uses). */
export interface GrantedLease {
  lease: { id: string; credential_name: string; expires_at: string };
  value: string;
}

/**
 * POSTs JSON to a CI route. Any answer but 2xx becomes one line naming the vault's code, message
 * and request id; never the request body (it holds the ID token).
 */
export async function ciPost<T>(vault: VaultInputs, path: string, body: Record<string, unknown>): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`${vault.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ tenant_id: vault.tenant, ...body }),
    });
  } catch (error) {
    throw new ActionError(`cannot reach the vault at ${vault.url}: ${causeOf(error)}`);
  }
  const text = await response.text();
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Reported below with the status.
  }
  if (!response.ok) {
    const error = (parsed as { error?: { code?: string; message?: string; request_id?: string } } | null)?.error;
    const id = error?.request_id ?? response.headers.get("x-request-id");
    throw new ActionError(
      `vault answered ${response.status}: ${error?.message ?? "no error body"} (${error?.code ?? "http_error"}${id ? `, request ${id}` : ""})`,
    );
  }
  if (parsed === null || typeof parsed !== "object")
    throw new ActionError(`vault answered ${response.status} without JSON`);
  return parsed as T;
}
