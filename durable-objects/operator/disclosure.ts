import { VaultError } from "../../worker/contract/errors";

/**
 * Disclosure drafts (issue 13 §3): from an impact job's per-tenant reports, one draft per affected
 * tenant (any credential leased in the window) saying what was accessed, by whom, what was rotated
 * and what the customer must do, as JSON and as Markdown. A draft for a person to review and send,
 * never sent by the vault.
 */

/** What a tenant's object answers to an `impact` action (durable-objects/ops/operator.ts). */
interface TenantImpact {
  tenant: { id: string; name: string };
  impact: {
    from: string;
    to: string;
    truncated: boolean;
    credentials: {
      credential_id: string;
      credential_name: string;
      identities: string[];
      identities_total: number;
      leases: number;
      still_active: number;
    }[];
  };
  kek: { active_version: number; versions: { version: number; state: string; created_at: string }[] };
}

interface JobView {
  id: string;
  kind: string;
  tenants: { tenant_id: string; state: string; result: unknown }[];
}

/** Markdown-safe text: no markup, no line breaks from names a tenant chose. */
function md(text: string): string {
  return text.replace(/[\r\n]+/g, " ").replace(/([\\`*_{}[\]()#+\-.!|<>])/g, "\\$1");
}

/** One tenant's draft. */
function draft(jobId: string, t: TenantImpact) {
  const { from, to } = t.impact;
  const rotated = t.kek.versions
    .filter((v) => Date.parse(v.created_at) >= Date.parse(from))
    .map((v) => ({ kek_version: v.version, created_at: v.created_at, state: v.state }));
  const accessed = t.impact.credentials.map((c) => ({
    credential_id: c.credential_id,
    credential_name: c.credential_name,
    identities: c.identities,
    identities_total: c.identities_total,
    leases: c.leases,
    still_active: c.still_active,
  }));
  const actions = [
    'Rotate the value of every credential listed under "Accessed" at its upstream provider, then in the vault (ghostvault creds rotate).',
    "Review the identities listed for each credential; revoke any API token or OIDC trust you do not recognise.",
    "Check your own systems' logs for use of these credentials in the window.",
  ];
  if (accessed.some((a) => a.still_active > 0))
    actions.unshift(
      "Some leases were still active when this report was made: revoke them (ghostvault leases revoke --all) if that has not been done.",
    );
  const json = {
    job_id: jobId,
    tenant_id: t.tenant.id,
    tenant_name: t.tenant.name,
    window: { from, to },
    truncated: t.impact.truncated,
    accessed,
    rotated,
    customer_actions: actions,
  };
  const lines = [
    `# Security incident notice: ${md(t.tenant.name)}`,
    "",
    `Tenant \`${t.tenant.id}\`. Window: ${from} to ${to}.${t.impact.truncated ? " The lease list was truncated; the full list is in the tenant's audit log." : ""}`,
    "",
    "## Accessed",
    "",
    "| Credential | Leases | Still active | Identities |",
    "| --- | --- | --- | --- |",
    ...accessed.map(
      (a) =>
        `| ${md(a.credential_name)} | ${a.leases} | ${a.still_active} | ${a.identities.map(md).join(", ")}${a.identities_total > a.identities.length ? ` and ${a.identities_total - a.identities.length} more` : ""} |`,
    ),
    "",
    "## Rotated by the operator",
    "",
    ...(rotated.length > 0
      ? rotated.map(
          (r) => `- Tenant key-encryption key version ${r.kek_version} created ${r.created_at} (now ${r.state}).`,
        )
      : ["- No key-encryption key was rotated since the window began."]),
    "",
    "## What you must do",
    "",
    ...actions.map((a) => `- ${a}`),
    "",
  ];
  return { tenant_id: t.tenant.id, json, markdown: lines.join("\n") };
}

/** Drafts for every affected tenant of a finished impact job; 409 for any other job or one still running. */
export function disclosureDrafts(job: JobView & { state: string }) {
  if (job.kind !== "impact") throw new VaultError("conflict", "disclosure drafts are made from an impact job");
  if (job.state !== "done") throw new VaultError("conflict", "the impact job has not finished");
  const items = job.tenants
    .filter((t) => t.state === "done" && t.result !== null)
    .map((t) => t.result as TenantImpact)
    .filter((r) => r.impact.credentials.length > 0)
    .map((r) => draft(job.id, r));
  return { job_id: job.id, items };
}
