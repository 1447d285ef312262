import { readFileSync } from "node:fs";
import path from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../node/support/vault";
import { cliEnv, runCli, type CliFixture } from "../node/cli/helpers";
import { signIn, watchProblems } from "./browser";
import { startDashboardFixture, type DashboardFixture } from "./dashboard-fixture";
import type { Banner } from "./dev-server-harness";

/**
 * Issue 14 §4: the dashboard in a real browser (Debian's Chromium through playwright-core) against
 * `npm run dev`: sign in, create a credential, set its ACL, lease it from the CLI and watch the lease
 * appear, revoke it, search the audit log, sign out (and the old cookie is dead). Then the same
 * forms with JavaScript off, and a viewer's 403 page. No console error or CSP violation anywhere.
 */

/** axe-core's browser bundle, injected into each page for the accessibility check. */
const AXE = readFileSync(path.join(ROOT, "node_modules", "axe-core", "axe.min.js"), "utf8");

let banner: Banner;
let browser: Browser;
let cli: CliFixture;
let fixture: DashboardFixture | undefined;

beforeAll(async () => {
  fixture = await startDashboardFixture("dashboard");
  ({ banner, browser, cli } = fixture);
});

afterAll(() => fixture?.close());

async function api(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${banner.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${banner.token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

describe("dashboard in Chromium", () => {
  it("sign in, create, ACL, CLI lease appears live, revoke, audit search, sign out", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const problems = await watchProblems(page);
    const { url } = banner;
    await signIn(page, url, banner.token);

    // Create a credential through the form.
    await page.getByLabel("Name", { exact: true }).fill("e2e/db");
    await page.getByLabel(/^Value/).fill("e2e-secret-value-never-rendered");
    await page.getByLabel(/^Tags/).fill("e2e");
    await page.getByRole("button", { name: "Create" }).click();
    await page.waitForURL(/\/ui\/credentials\/cred_[0-9a-f]+\?done=created/);
    expect(await page.locator(".notice").textContent()).toBe("Created.");

    // Set the ACL: only the dev identity may lease.
    const acl = { rules: [{ effect: "allow", identity: "user:dev@localhost" }], agent_visible: false };
    await page.getByLabel(/^Rules as JSON/).fill(JSON.stringify(acl));
    await page.getByRole("button", { name: "Save ACL" }).click();
    await page.waitForURL(/done=saved/);
    // The who-may check answers as the identity is typed (script), without submitting.
    await page.getByLabel("Identity", { exact: true }).fill("agent:someone-else");
    await page.locator("#acl-check .bad").waitFor();
    await page.getByLabel("Identity", { exact: true }).fill("user:dev@localhost");
    await page.locator("#acl-check .ok").waitFor();
    expect(await page.content()).not.toContain("e2e-secret-value-never-rendered");

    // The lease list refreshes by itself: a lease taken from the CLI appears without a reload.
    await page.getByRole("link", { name: "Leases", exact: true }).click();
    await page.waitForURL(`${url}/ui/leases`);
    const leased = await runCli(cli, ["lease", "e2e/db", "--purpose", "dashboard-e2e"], {
      env: cliEnv(cli, { GHOSTVAULT_URL: url, GHOSTVAULT_TOKEN: banner.token }),
    });
    expect(leased.code, leased.stderr).toBe(0);
    expect(leased.stdout).toBe("e2e-secret-value-never-rendered");
    const leaseId = /lease (lease_[0-9a-f]+)/.exec(leased.stderr)![1]!;
    await page.locator("#lease-table").getByText(leaseId).waitFor({ timeout: 15_000 });
    expect(await page.content()).not.toContain("e2e-secret-value-never-rendered");

    // Revoke it from the list.
    await page.getByRole("button", { name: `Revoke lease ${leaseId}` }).click();
    await page.waitForURL(/done=revoked/);
    const lease = (await (await api("GET", `/v1/leases/${leaseId}`)).json()) as { state: string };
    expect(lease.state).toBe("revoked");

    // Audit search by type.
    await page.getByRole("link", { name: "Audit", exact: true }).click();
    await page.getByLabel("Type").fill("lease.revoked");
    await page.getByRole("button", { name: "Search" }).click();
    await page.waitForURL(/type=lease\.revoked/);
    expect(await page.locator("#audit-table tbody tr").count()).toBeGreaterThanOrEqual(1);
    expect(await page.locator("#audit-table").textContent()).toContain("lease.revoked");

    // No console error or CSP violation so far; the refusals below log their 403s.
    expect(await problems()).toEqual([]);

    // Another origin posts a dashboard form, even with this session's real CSRF token: refused
    // (SameSite=Strict keeps the cookie off, and the Origin check would refuse it anyway).
    const csrf = await page.locator('input[name="_csrf"]').first().inputValue();
    const attacker = await context.newPage();
    await attacker.setContent(
      `<form method="post" action="${url}/ui/credentials"><input name="name" value="planted"><input name="value" value="x"><input name="_csrf" value="${csrf}"><button>go</button></form>`,
    );
    const [forged] = await Promise.all([
      attacker.waitForResponse(`${url}/ui/credentials`),
      attacker.getByRole("button", { name: "go" }).click(),
    ]);
    expect(forged.status()).toBeGreaterThanOrEqual(400);
    expect((await api("GET", "/v1/credentials/planted")).status).toBe(404);
    await attacker.close();
    // A same-origin script post without the CSRF token is refused too; with it (control) it works.
    const statuses = await page.evaluate(async (token) => {
      const post = (body: Record<string, string>) =>
        fetch("/ui/credentials", { method: "POST", body: new URLSearchParams(body), redirect: "manual" }).then(
          (r) => r.status,
        );
      return [
        await post({ name: "no-token", value: "x" }),
        await post({ name: "with-token", value: "x", _csrf: token }),
      ];
    }, csrf);
    expect(statuses[0]).toBe(403);
    expect((await api("GET", "/v1/credentials/no-token")).status).toBe(404);
    expect((await api("GET", "/v1/credentials/with-token")).status).toBe(200);

    // Every form field has a label, on every page an admin has.
    for (const p of [
      "/ui/credentials",
      "/ui/leases",
      "/ui/audit",
      "/ui/tokens",
      "/ui/teams",
      "/ui/oidc",
      "/ui/webhooks",
      "/ui/kek",
      "/ui/incident",
      "/ui/sessions",
    ]) {
      await page.goto(`${url}${p}`);
      const unlabelled = await page.evaluate(() =>
        [...document.querySelectorAll("input:not([type=hidden]), select, textarea")]
          .filter((el) => (el as HTMLInputElement).labels?.length === 0 && !el.getAttribute("aria-label"))
          .map((el) => el.outerHTML),
      );
      expect(unlabelled, p).toEqual([]);
    }

    // Sign out: the session is revoked in the vault, so the old cookie gets the sign-in page.
    const [cookie] = await context.cookies();
    expect(cookie).toMatchObject({ name: "gv_session", httpOnly: true, sameSite: "Strict" });
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(/\/ui\/login\?reason=out/);
    const replay = await fetch(`${url}/ui/credentials`, {
      headers: { cookie: `${cookie!.name}=${cookie!.value}` },
      redirect: "manual",
    });
    expect(replay.status).toBe(303);
    expect(replay.headers.get("location")).toMatch(/^\/ui\/login/);
    // The cookie's first field (base64url JSON) is the session token (worker/dashboard/session.ts).
    const sessionToken = (
      JSON.parse(Buffer.from(cookie!.value.split(".")[0]!, "base64url").toString("utf8")) as string[]
    )[0];
    const whoami = await fetch(`${url}/v1/whoami`, { headers: { authorization: `Bearer ${sessionToken}` } });
    expect(whoami.status).toBe(401);

    expect((await problems()).filter((p) => !p.includes("status of 403"))).toEqual([]);
    await context.close();
  });

  it("axe-core finds no WCAG 2 A/AA violation on any page (sign-in, every admin page, a credential, an entry, the not-found page)", async () => {
    const created = (await (
      await api("POST", "/v1/credentials", { name: "axe/db", value: "axe-value", tags: ["axe"] })
    ).json()) as { id: string };
    // bypassCSP only so the checker can be injected; the CSP itself is checked in the other tests.
    const context = await browser.newContext({ bypassCSP: true });
    const page = await context.newPage();
    const check = async (path: string) => {
      await page.goto(`${banner.url}${path}`);
      await page.addScriptTag({ content: AXE });
      const violations = await page.evaluate(async () => {
        const axe = (
          window as unknown as {
            axe: {
              run: (d: Document, o: object) => Promise<{ violations: { id: string; nodes: { html: string }[] }[] }>;
            };
          }
        ).axe;
        const result = await axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa"] } });
        return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.html).join(" | ")}`);
      });
      expect(violations, path).toEqual([]);
    };
    await check("/ui/login");
    await signIn(page, banner.url, banner.token);
    for (const path of [
      "/ui/credentials",
      `/ui/credentials/${created.id}`,
      "/ui/leases",
      "/ui/audit",
      "/ui/audit/1",
      "/ui/audit/chain",
      "/ui/tokens",
      "/ui/sessions",
      "/ui/teams",
      "/ui/oidc",
      "/ui/webhooks",
      "/ui/kek",
      "/ui/incident",
      "/ui/health",
      "/ui/no-such-page",
    ]) {
      await check(path);
    }
    await context.close();
  });

  it("keyboard only: skip link first, then sign in with Tab and Enter", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${banner.url}/ui/login`);
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Skip to content");
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.getAttribute("name"))).toBe("token");
    await page.keyboard.type(banner.token);
    await page.keyboard.press("Enter");
    await page.waitForURL(`${banner.url}/ui/credentials`);
    // The first Tab after the skip link reaches the navigation.
    await page.keyboard.press("Tab");
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Credentials");
    await context.close();
  });

  it("forms work with JavaScript disabled, and a viewer gets the 403 page for admin pages", async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await signIn(page, banner.url, banner.token);
    await page.getByLabel("Name", { exact: true }).fill("nojs/token");
    await page.getByLabel(/^Value/).fill("nojs-value");
    await page.getByRole("button", { name: "Create" }).click();
    await page.waitForURL(/done=created/);
    expect(await page.locator("h1").textContent()).toBe("Credential nojs/token");
    // Break glass without the script: the server checks the typed word.
    await page.goto(`${banner.url}/ui/leases`);
    await page.getByLabel("Credential (id or name)").last().fill("nojs/token");
    await page.getByLabel(/^Type REVOKE/).fill("nope");
    await page.getByRole("button", { name: "Revoke matching leases" }).click();
    expect(await page.getByRole("alert").textContent()).toContain("type REVOKE");
    await context.close();

    const created = (await (
      await api("POST", "/v1/tokens", { name: "e2e viewer", role: "viewer", identity: "user:viewer@localhost" })
    ).json()) as { token: string };
    const viewerContext = await browser.newContext();
    const viewerPage = await viewerContext.newPage();
    const problems = await watchProblems(viewerPage);
    await signIn(viewerPage, banner.url, created.token);
    expect(await viewerPage.locator("nav").textContent()).not.toContain("Tokens");
    const res = await viewerPage.goto(`${banner.url}/ui/tokens`);
    expect(res?.status()).toBe(403);
    expect(await viewerPage.locator("h1").textContent()).toBe("Not allowed");
    // The 403 is a page; the console error Chromium logs for a non-2xx document is expected.
    expect((await problems()).filter((p) => !p.includes("403"))).toEqual([]);
    await viewerContext.close();
  });
});
