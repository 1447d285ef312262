import { ActionError, input } from "./runner";
import type { VaultInputs } from "./vault";

/** The vault URL, tenant and audience inputs of action.yml, checked. */
export function vaultInputs(): VaultInputs {
  const raw = input("vault-url", { required: true });
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ActionError(`input "vault-url" is not a URL: ${raw.slice(0, 100)}`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:")
    throw new ActionError('input "vault-url" must be an https:// URL');
  const tenant = input("tenant", { required: true });
  if (!/^[0-9a-f]{20}$/.test(tenant)) throw new ActionError('input "tenant" must be a tenant id (20 hex digits)');
  const base = url.toString().replace(/\/+$/, "");
  return { url: base, tenant, audience: input("audience") || base };
}
