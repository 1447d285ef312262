/** @jsxImportSource hono/jsx */
/**
 * Approvals (issue 14 §3): the queue of pending access requests the viewer may approve, each with
 * an approve form (optional reason) and a deny form (reason required), and the viewer's own
 * requests. The vault decides who may approve (the rule's role/team, never the requester), exactly
 * as for `POST /v1/access-requests/{id}/approve`; the page only offers the forms.
 */
import type { Hono } from "hono";
import type { AccessRequest } from "../../contract/schemas/access-requests";
import { Field, PostForm, Table, doneRedirect, render } from "../layout";
import { call, may, present, type DashContext, type DashEnv } from "../vault";

/** Who the rule names as approvers, in words. */
function approversText(a: AccessRequest["approvers"]): string {
  return [a.role ? `role ${a.role}` : null, a.team ? `team ${a.team}` : null].filter(Boolean).join(" in ");
}

async function queue(c: DashContext) {
  const viewer = c.get("viewer");
  const pending = await call<{ items: AccessRequest[] }>(c, "access_requests.list", {
    query: { view: "queue", limit: "100" },
  });
  const mine = await call<{ items: AccessRequest[] }>(c, "access_requests.list", {
    query: { view: "mine", limit: "20" },
  });
  const mayDecide = may(viewer, "access_requests.approve");
  return render(
    c,
    "Approvals",
    <>
      <section aria-labelledby="queue-h">
        <h2 id="queue-h">Waiting for your approval</h2>
        <div id="request-queue">
          <Table
            head={["Request", "Credential", "Requester", "Agent", "Purpose", "TTL", "Approvers", "Expires", ""]}
            empty="Nothing is waiting for your approval."
            rows={pending.items.map((r) => [
              <code>{r.id}</code>,
              r.credential_name,
              r.identity,
              r.agent?.name ?? "—",
              r.purpose ?? "—",
              `${r.ttl}s`,
              approversText(r.approvers),
              r.expires_at,
              mayDecide ? (
                <>
                  <PostForm viewer={viewer} action={`/ui/requests/${r.id}/approve`} class="inline">
                    <Field label={`Reason for approving ${r.id} (optional)`} name="reason" />
                    <button type="submit">Approve</button>
                  </PostForm>
                  <PostForm viewer={viewer} action={`/ui/requests/${r.id}/deny`} class="inline">
                    <Field label={`Reason for denying ${r.id}`} name="reason" required />
                    <button type="submit" class="danger">
                      Deny
                    </button>
                  </PostForm>
                </>
              ) : (
                ""
              ),
            ])}
          />
        </div>
      </section>
      <section aria-labelledby="mine-h">
        <h2 id="mine-h">Your requests</h2>
        <Table
          head={["Request", "Credential", "Status", "Approvers", "Decided by", "Reason", "Expires"]}
          empty="You have made no access requests."
          rows={mine.items.map((r) => [
            <code>{r.id}</code>,
            r.credential_name,
            r.status,
            approversText(r.approvers),
            r.decided_by ?? "—",
            r.reason ?? "—",
            r.expires_at,
          ])}
        />
      </section>
    </>,
  );
}

/** Mounts the approvals page and its two forms. */
export function requestPages(ui: Hono<DashEnv>): void {
  ui.get("/requests", queue);
  ui.post("/requests/:id/approve", async (c) => {
    await call(c, "access_requests.approve", {
      params: { id: c.req.param("id") },
      body: present(c.get("form"), ["reason"]),
    });
    return doneRedirect(c, "/ui/requests", "approved");
  });
  ui.post("/requests/:id/deny", async (c) => {
    // An empty reason reaches the vault as a missing one: its 400 names the field.
    await call(c, "access_requests.deny", {
      params: { id: c.req.param("id") },
      body: present(c.get("form"), ["reason"]),
    });
    return doneRedirect(c, "/ui/requests", "denied");
  });
}
