/**
 * Post step of the Vault GitHub Action: runs at the end of the job whether it passed or failed
 * (`post-if` defaults to always()) and revokes every lease the main step saved, with a fresh ID
 * token (the vault refuses a token twice). Nothing saved (main failed before leasing): nothing to do.
 */

import { fail, idToken } from "./runner";
import { ciPost } from "./vault";
import { vaultInputs } from "./inputs";

async function post(): Promise<void> {
  const ids = (process.env.STATE_lease_ids ?? "").split(",").filter((id) => id !== "");
  if (ids.length === 0) {
    console.log("No leases to revoke.");
    return;
  }
  const vault = vaultInputs();
  const revoked = await ciPost<{ leases: { id: string; state: string }[] }>(vault, "/v1/ci/leases/revoke", {
    token: await idToken(vault.audience),
    lease_ids: ids,
  });
  console.log(
    `Revoked ${revoked.leases.length} lease(s): ${revoked.leases.map((l) => `${l.id} (${l.state})`).join(", ")}`,
  );
}

post().catch(fail);
