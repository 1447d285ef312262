/**
 * Main step of the Vault GitHub Action: exchanges the job's OIDC ID token for leases, masks every
 * value before anything else is written, saves the lease ids for the post step at once (state
 * written before a crash still reaches it), then exports the values as environment variables for
 * later steps and as step outputs. Any failure fails the step with one line, and no value is
 * written anywhere.
 */

import { hostname } from "node:os";
import { ActionError, fail, fileCommand, idToken, input, mask } from "./runner";
import { ciPost, type GrantedLease } from "./vault";
import { vaultInputs } from "./inputs";

/** `VAR=credential` lines; blank lines and `#` comments skipped. */
export function parseCredentials(text: string): { variable: string; credential: string }[] {
  const pairs: { variable: string; credential: string }[] = [];
  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(\S+)$/.exec(line);
    if (!match) throw new ActionError(`credentials line ${index + 1}: expected VAR=credential`);
    const [, variable, credential] = match as unknown as [string, string, string];
    // The runner refuses NODE_OPTIONS from GITHUB_ENV; GITHUB_* are the runner's own.
    if (variable === "NODE_OPTIONS" || variable.toUpperCase().startsWith("GITHUB_"))
      throw new ActionError(`credentials line ${index + 1}: ${variable} cannot be set by an action`);
    if (pairs.some((p) => p.variable === variable))
      throw new ActionError(`credentials line ${index + 1}: ${variable} is given twice`);
    pairs.push({ variable, credential });
  }
  if (pairs.length === 0) throw new ActionError('input "credentials" names no VAR=credential line');
  if (pairs.length > 20) throw new ActionError("at most 20 credentials per step (one exchange)");
  return pairs;
}

async function main(): Promise<void> {
  const vault = vaultInputs();
  const pairs = parseCredentials(input("credentials", { required: true }));
  const ttl = input("ttl");
  const names = [...new Set(pairs.map((p) => p.credential))];
  const token = await idToken(vault.audience);
  const granted = await ciPost<{ identity: string; leases: GrantedLease[] }>(vault, "/v1/ci/leases", {
    token,
    credentials: names,
    ...(ttl ? { ttl } : {}),
    purpose: `GitHub Actions ${process.env.GITHUB_REPOSITORY ?? ""} run ${process.env.GITHUB_RUN_ID ?? "?"}`.slice(
      0,
      256,
    ),
    agent: { name: "ghostvault-action", host: hostname().slice(0, 256) },
  });
  // Masks first: nothing below may print a value the runner does not hide yet.
  for (const l of granted.leases) mask(l.value);
  fileCommand("GITHUB_STATE", "lease_ids", granted.leases.map((l) => l.lease.id).join(","));
  const byName = new Map(granted.leases.map((l) => [l.lease.credential_name, l]));
  for (const { variable, credential } of pairs) {
    const lease = byName.get(credential);
    if (!lease) throw new ActionError(`the vault returned no lease for ${credential}`);
    fileCommand("GITHUB_ENV", variable, lease.value);
    fileCommand("GITHUB_OUTPUT", variable, lease.value);
  }
  fileCommand("GITHUB_OUTPUT", "identity", granted.identity);
  fileCommand("GITHUB_OUTPUT", "lease-ids", granted.leases.map((l) => l.lease.id).join(","));
  const until = granted.leases.map((l) => l.lease.expires_at).sort()[0];
  console.log(
    `Leased ${granted.leases.length} credential(s) as ${granted.identity} until ${until}; revoked in the post step.`,
  );
}

main().catch(fail);
