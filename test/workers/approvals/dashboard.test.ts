import { describe, expect, it } from "vitest";
import { api, expectStatus } from "../helpers";
import { signedIn } from "../dashboard/browser";
import { approvalWorld, requestLease, type RequestBody } from "./approval-helpers";

/** The dashboard's approvals page (issue 14 §3): the queue, approve and deny forms with CSRF, and one's own requests. */
describe("dashboard approvals page", () => {
  it("shows an approver the queue; approve and deny need the CSRF token and the same origin; the requester sees only their own requests", async () => {
    const w = await approvalWorld();
    const first = await requestLease(w.agent, { credential: w.credential.name, purpose: "deploy" });
    const alice = await signedIn(w.alice);
    const page = await (await alice.get("/ui/requests")).text();
    expect(page).toContain(first.id);
    expect(page).toContain('href="/ui/requests"');
    expect(page).not.toContain(w.value);

    // Refused without the CSRF token or from another origin; nothing changes.
    expect((await alice.post(`/ui/requests/${first.id}/approve`, {}, { csrf: null })).status).toBe(403);
    expect((await alice.post(`/ui/requests/${first.id}/approve`, {}, { origin: "https://evil.example" })).status).toBe(
      403,
    );
    expect(
      (await expectStatus<RequestBody>(await api(w.alice, "GET", `/v1/access-requests/${first.id}`), 200)).status,
    ).toBe("pending");
    // The requester's own session is refused by the vault (its own request); control: the approver's form succeeds.
    const agent = await signedIn(w.agent);
    const own = await (await agent.get("/ui/requests")).text();
    expect(own).toContain(first.id);
    expect(own).not.toContain(`/ui/requests/${first.id}/approve`);
    expect((await agent.post(`/ui/requests/${first.id}/approve`, {})).status).toBe(403);
    const approved = await alice.post(`/ui/requests/${first.id}/approve`, { reason: "ticket 9" });
    expect(approved.status).toBe(303);
    expect(approved.headers.get("location")).toBe("/ui/requests?done=approved");
    expect(
      await expectStatus<RequestBody>(await api(w.alice, "GET", `/v1/access-requests/${first.id}`), 200),
    ).toMatchObject({ status: "approved", reason: "ticket 9", decided_by: "user:alice@acme.test" });

    // Deny: the reason is required (400 page), then it is the requester's to read.
    await expectStatus(await api(w.agent, "POST", `/v1/access-requests/${first.id}/lease`), 201);
    const second = await requestLease(w.agent, { credential: w.credential.name });
    await alice.get("/ui/requests");
    expect((await alice.post(`/ui/requests/${second.id}/deny`, { reason: "" })).status).toBe(400);
    expect((await alice.post(`/ui/requests/${second.id}/deny`, { reason: "use staging" })).status).toBe(303);
    const mine = await (await agent.get("/ui/requests")).text();
    expect(mine).toContain("use staging");
    expect(mine).toContain("denied");
    // Bob is no approver: an empty queue.
    const bob = await signedIn(w.bob);
    expect(await (await bob.get("/ui/requests")).text()).toContain("Nothing is waiting for your approval.");
  });
});
