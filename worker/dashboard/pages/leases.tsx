/** @jsxImportSource hono/jsx */
/**
 * Leases: the list (refreshing every few seconds with the script, a reload without it), filters,
 * revoke one, and break glass (revoke every active lease matching a filter) behind a typed
 * confirmation that the server checks as well.
 */
import type { Hono } from "hono";
import { VaultError } from "../../contract/errors";
import type { LeasePage } from "../../contract/schemas/leases";
import { Field, PostForm, Select, Table, doneRedirect, render } from "../layout";
import { call, may, present, type DashContext, type DashEnv } from "../vault";

/** What break glass asks the user to type, so a stray click cannot revoke everything. */
export const BREAK_GLASS_WORD = "REVOKE";

async function list(c: DashContext) {
  const query = present(c.req.query(), ["state", "credential", "identity", "cursor"]);
  const state = query.state ?? "active";
  const page = await call<LeasePage>(c, "leases.list", { query: { ...query, state, limit: "100" } });
  const viewer = c.get("viewer");
  const mayRevoke = may(viewer, "leases.revoke");
  const next =
    page.next_cursor === null
      ? null
      : `/ui/leases?${new URLSearchParams({ ...query, state, cursor: page.next_cursor })}`;
  return render(
    c,
    "Leases",
    <>
      <form method="get" action="/ui/leases" class="row">
        <Select label="State" name="state" options={["active", "expired", "revoked"]} value={state} />
        <Field label="Credential (id or name)" name="credential" value={query.credential} />
        <Field label="Identity" name="identity" value={query.identity} />
        <button type="submit">Filter</button>
      </form>
      <div id="lease-table" data-refresh="3000">
        <Table
          head={["Lease", "Credential", "Version", "Identity", "Agent", "Issued", "Expires", "State", ""]}
          empty="No leases match."
          rows={page.items.map((l) => [
            <code>{l.id}</code>,
            <a href={`/ui/credentials/${l.credential_id}`}>{l.credential_name}</a>,
            l.version,
            l.identity,
            l.agent?.name ?? "—",
            l.issued_at,
            l.expires_at,
            l.state,
            mayRevoke && l.state === "active" ? (
              <PostForm viewer={viewer} action={`/ui/leases/${l.id}/revoke`} class="inline">
                <button type="submit" aria-label={`Revoke lease ${l.id}`}>
                  Revoke
                </button>
              </PostForm>
            ) : (
              ""
            ),
          ])}
        />
        {next ? <a href={next}>Next page</a> : null}
      </div>
      {may(viewer, "leases.revoke_matching") ? (
        <section aria-labelledby="bg-h">
          <h2 id="bg-h">Break glass</h2>
          <p>Revoke every active lease of a credential, of identities matching a glob, or all of them.</p>
          <PostForm viewer={viewer} action="/ui/leases/break-glass" class="row" confirmWord={BREAK_GLASS_WORD}>
            <Field label="Credential (id or name)" name="credential" />
            <Field label="Identity glob" name="identity" placeholder="agent:*" />
            <Select label="Scope" name="all" options={["filter", "all"]} value="filter" />
            <Field label="Reason" name="reason" />
            <Field label={`Type ${BREAK_GLASS_WORD} to confirm`} name="confirm" required />
            <button type="submit" class="danger">
              Revoke matching leases
            </button>
          </PostForm>
        </section>
      ) : null}
    </>,
  );
}

/** Mounts the lease pages. */
export function leasePages(ui: Hono<DashEnv>): void {
  ui.get("/leases", list);
  ui.post("/leases/break-glass", async (c) => {
    const f = c.get("form");
    if (f.confirm !== BREAK_GLASS_WORD)
      throw new VaultError("validation_failed", `confirm: type ${BREAK_GLASS_WORD} to revoke leases`);
    const filter =
      f.all === "all" ? { all: true, ...present(f, ["reason"]) } : present(f, ["credential", "identity", "reason"]);
    await call(c, "leases.revoke_matching", { body: filter });
    return doneRedirect(c, "/ui/leases", "revoked");
  });
  ui.post("/leases/:id/revoke", async (c) => {
    await call(c, "leases.revoke", { params: { id: c.req.param("id") } });
    return doneRedirect(c, "/ui/leases", "revoked");
  });
}
