import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliEnv, runCli, type CliFixture } from "../node/cli/helpers";
import { signIn, watchProblems } from "./browser";
import { startDashboardFixture, type DashboardFixture } from "./dashboard-fixture";
import type { Banner } from "./dev-server-harness";

/**
 * Issue 14 §4: the request-and-approve flow with two identities, in Chromium against `npm run dev`.
 * Identity A (a `user`) asks for a credential an `approve` rule holds and gets a pending request and
 * no value; A cannot approve it (page or API); identity B (a manager) approves it through the
 * Approvals page; A collects exactly one lease, which B then sees on the Leases page. No page ever
 * carries the value.
 */

const VALUE = "approvals-e2e-value-never-rendered";

let banner: Banner;
let browser: Browser;
let cli: CliFixture;
let fixture: DashboardFixture | undefined;

beforeAll(async () => {
  fixture = await startDashboardFixture("approvals");
  ({ banner, browser, cli } = fixture);
});

afterAll(() => fixture?.close());

/** One HTTP call to the dev vault with `token`. */
async function api(token: string, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${banner.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** Mints a token for `identity` with `role`, as the dev admin. */
async function mint(role: string, identity: string): Promise<string> {
  const res = await api(banner.token, "POST", "/v1/tokens", { name: `approvals e2e ${role}`, role, identity });
  expect(res.status).toBe(201);
  return ((await res.json()) as { token: string }).token;
}

/** The page's HTML never carries the credential's value. */
async function noValue(page: Page): Promise<void> {
  expect(await page.content()).not.toContain(VALUE);
}

describe("approvals in Chromium", () => {
  it("A requests (202, no value), cannot approve it; manager B approves on the page; A collects one lease, shown on Leases", async () => {
    const admin = banner.token;
    const created = await api(admin, "POST", "/v1/credentials", { name: "approvals/db", value: VALUE });
    expect(created.status).toBe(201);
    const credId = ((await created.json()) as { id: string }).id;
    const acl = {
      rules: [{ effect: "approve", identity: "user:alice@localhost", approvers: { role: "manager" } }],
      agent_visible: false,
    };
    expect((await api(admin, "PUT", `/v1/credentials/${credId}/acl`, acl)).status).toBe(200);
    const [alice, bob] = await Promise.all([
      mint("user", "user:alice@localhost"),
      mint("manager", "user:bob@localhost"),
    ]);
    const aliceCli = { env: cliEnv(cli, { GHOSTVAULT_URL: banner.url, GHOSTVAULT_TOKEN: alice }) };
    const leaseArgs = ["lease", "approvals/db", "--purpose", "approvals-e2e"];

    // A asks over HTTP: 202 with the pending request, never a value or a lease.
    const asked = await api(alice, "POST", "/v1/leases", { credential: "approvals/db", purpose: "approvals-e2e" });
    expect(asked.status).toBe(202);
    const askedText = await asked.text();
    expect(askedText).not.toContain(VALUE);
    const request = (JSON.parse(askedText) as { request: { id: string; status: string } }).request;
    expect(request.status).toBe("pending");
    // The CLI with --no-wait names the same request (a retry returns it, not a second one) and exits 1.
    const pending = await runCli(cli, [...leaseArgs, "--no-wait"], aliceCli);
    expect(pending.code).toBe(1);
    expect(pending.stdout).toBe("");
    expect(pending.stderr).toContain(request.id);

    // Denial: A cannot approve its own request, neither over the API nor through the dashboard form.
    const selfApi = await api(alice, "POST", `/v1/access-requests/${request.id}/approve`, {});
    expect(selfApi.status).toBe(403);
    const aliceContext = await browser.newContext();
    const alicePage = await aliceContext.newPage();
    await signIn(alicePage, banner.url, alice);
    await alicePage.getByRole("link", { name: "Approvals", exact: true }).click();
    await alicePage.waitForURL(`${banner.url}/ui/requests`);
    // A sees it among its own requests, not in the queue it could approve.
    expect(await alicePage.locator("#request-queue").textContent()).not.toContain(request.id);
    expect(await alicePage.locator('section[aria-labelledby="mine-h"]').textContent()).toContain(request.id);
    const csrf = await alicePage.locator('input[name="_csrf"]').first().inputValue();
    const selfForm = await alicePage.evaluate(
      async ([id, token]) =>
        (
          await fetch(`/ui/requests/${id}/approve`, {
            method: "POST",
            body: new URLSearchParams({ _csrf: token!, reason: "mine" }),
            redirect: "manual",
          })
        ).status,
      [request.id, csrf],
    );
    expect(selfForm).toBe(403);
    await noValue(alicePage);
    await aliceContext.close();
    const stillPending = (await (await api(alice, "GET", `/v1/access-requests/${request.id}`)).json()) as {
      status: string;
    };
    expect(stillPending.status).toBe("pending");

    // B (a manager) signs in, finds the request on the Approvals page, approves it through the form.
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const problems = await watchProblems(page);
    await signIn(page, banner.url, bob);
    await page.getByRole("link", { name: "Approvals", exact: true }).click();
    await page.waitForURL(`${banner.url}/ui/requests`);
    const row = page.locator("#request-queue tr", { hasText: request.id });
    expect(await row.textContent()).toContain("user:alice@localhost");
    await noValue(page);
    await page.getByLabel(`Reason for approving ${request.id} (optional)`).fill("e2e ticket OPS-1");
    await row.getByRole("button", { name: "Approve", exact: true }).click();
    await page.waitForURL(/\/ui\/requests\?done=approved/);
    expect(await page.locator("#request-queue").textContent()).not.toContain(request.id);
    await noValue(page);

    // A collects exactly one lease by repeating the lease; a second collection is refused.
    const leased = await runCli(cli, leaseArgs, aliceCli);
    expect(leased.code, leased.stderr).toBe(0);
    expect(leased.stdout).toBe(VALUE);
    const leaseId = /lease (lease_[0-9a-f]+)/.exec(leased.stderr)![1]!;
    const again = await api(alice, "POST", `/v1/access-requests/${request.id}/lease`, {});
    expect(again.status).toBe(409);
    expect(await again.text()).not.toContain(VALUE);

    // B sees that one lease on the Leases page, held by A.
    await page.getByRole("link", { name: "Leases", exact: true }).click();
    await page.waitForURL(`${banner.url}/ui/leases`);
    const leaseRow = page.locator("#lease-table tr", { hasText: leaseId });
    await leaseRow.waitFor();
    expect(await leaseRow.textContent()).toContain("user:alice@localhost");
    const active = (await (await api(admin, "GET", `/v1/leases?credential=${credId}&state=active`)).json()) as {
      items: { id: string }[];
    };
    expect(active.items.map((l) => l.id)).toEqual([leaseId]);
    await noValue(page);
    expect(await problems()).toEqual([]);
    await context.close();
  });
});
