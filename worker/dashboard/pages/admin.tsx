/** @jsxImportSource hono/jsx */
/**
 * Operations pages: KEK status and rotation, the incident impact report (table and JSON download),
 * and health. kekPage and its rotate POST are the pattern for a new page (see NAV in ../layout.tsx).
 */
import type { Hono } from "hono";
import { VaultError } from "../../contract/errors";
import type { KekStatus } from "../../contract/schemas/admin";
import type { z } from "zod";
import type { ImpactReportSchema } from "../../contract/schemas/audit";
import { Field, PostForm, Table, doneRedirect, render } from "../layout";
import { call, present, requireRole, type DashContext, type DashEnv } from "../vault";

type ImpactReport = z.output<typeof ImpactReportSchema>;

async function kekPage(c: DashContext) {
  const status = await call<KekStatus>(c, "kek.status");
  return render(
    c,
    "Tenant KEK",
    <>
      <p id="kek-summary">
        {`Active version ${status.active_version}. Rotation sweep: ${status.sweep.running ? `running towards version ${status.sweep.target_version}, ${status.sweep.rewrapped} keys rewrapped` : "idle"}.`}
      </p>
      <Table
        head={["Version", "State", "Created", "Destroyed", "Wrapped DEKs"]}
        rows={status.versions.map((v) => [v.version, v.state, v.created_at, v.destroyed_at ?? "—", v.wrapped_deks])}
      />
      <h2>Rotate</h2>
      <PostForm viewer={c.get("viewer")} action="/ui/kek/rotate">
        <p>A new KEK version becomes active; existing data keys are rewrapped in the background.</p>
        <button type="submit">Rotate KEK</button>
      </PostForm>
    </>,
  );
}

/** The window of the impact report from the query, or null when the form has not been filled. */
function impactWindow(c: DashContext): { from: string; to: string } | null {
  const q = present(c.req.query(), ["from", "to"]);
  if (!q.from && !q.to) return null;
  if (!q.from || !q.to) throw new VaultError("validation_failed", "query: give both from and to");
  return { from: q.from, to: q.to };
}

async function incidentPage(c: DashContext) {
  requireRole(c, "incident.impact");
  const window = impactWindow(c);
  const report = window ? await call<ImpactReport>(c, "incident.impact", { query: window }) : null;
  return render(
    c,
    "Incident impact",
    <>
      <p>Which credentials were leased in a window, by whom, and how each lease ended.</p>
      <form method="get" action="/ui/incident" class="row">
        <Field label="From (UTC)" name="from" value={window?.from} required placeholder="2026-12-01T00:00:00Z" />
        <Field label="To (UTC)" name="to" value={window?.to} required placeholder="2026-12-01T23:59:59Z" />
        <button type="submit">Report</button>
      </form>
      {report && window ? (
        <>
          <p>
            <a href={`/ui/incident.json?${new URLSearchParams(window)}`} download="impact.json">
              Download JSON
            </a>
            {report.truncated ? " — truncated: narrow the window for the full list." : ""}
          </p>
          <Table
            id="impact-table"
            head={["Credential", "Identities", "Leases"]}
            empty="No credential was leased in this window."
            rows={report.credentials.map((r) => [r.credential_name, r.identities.join(", "), r.leases.length])}
          />
        </>
      ) : null}
    </>,
  );
}

async function healthPage(c: DashContext) {
  // The one call of this page: the vault confirms the session is still alive.
  await call(c, "whoami");
  let d1 = "ok";
  try {
    await c.env.DB.prepare("SELECT 1").first();
  } catch {
    d1 = "unreachable";
  }
  const viewer = c.get("viewer");
  return render(
    c,
    "Health",
    <dl id="health">
      <dt>Worker</dt>
      <dd class="ok">up</dd>
      <dt>D1</dt>
      <dd class={d1 === "ok" ? "ok" : "bad"}>{d1}</dd>
      <dt>Environment</dt>
      <dd>{c.get("config").ENVIRONMENT}</dd>
      <dt>Tenant</dt>
      <dd>
        <code>{viewer.tenant_id}</code>
      </dd>
    </dl>,
  );
}

/** Mounts KEK, incident and health pages. */
export function adminPages(ui: Hono<DashEnv>): void {
  ui.get("/kek", kekPage);
  ui.post("/kek/rotate", async (c) => {
    await call(c, "kek.rotate");
    return doneRedirect(c, "/ui/kek", "kek_rotated");
  });
  ui.get("/incident", incidentPage);
  ui.get("/incident.json", async (c) => {
    const window = impactWindow(c);
    if (!window) throw new VaultError("validation_failed", "query: give from and to");
    const report = await call<ImpactReport>(c, "incident.impact", { query: window });
    return c.body(JSON.stringify(report, null, 2), 200, {
      "content-type": "application/json",
      "content-disposition": 'attachment; filename="impact.json"',
    });
  });
  ui.get("/health", healthPage);
}
