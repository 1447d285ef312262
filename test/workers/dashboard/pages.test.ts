import { beforeAll, describe, expect, it } from "vitest";
import { api, bootstrap, createCredential, expectStatus, makeToken } from "../helpers";
import { signedIn, type Browser } from "./browser";

/**
 * Issue 14 §2: what the pages show and to whom. Role gating mirrors the API's least roles (and the
 * server refuses the POSTs, not only the links); hostile names are rendered as text; no page ever
 * shows a credential value.
 */

const HOSTILE = `<script>alert(1)</script>"'><img src=x onerror=alert(2)>`;
const HOSTILE_IDENTITY = "agent:<script>alert(3)</script>";

/** Every /ui link of a page, minus sign-out and assets. */
function links(html: string): string[] {
  return [...html.matchAll(/href="(\/ui\/[^"#]*)"/g)]
    .map((m) => m[1]!.replace(/&amp;/g, "&"))
    .filter((h) => !h.startsWith("/ui/assets/"));
}

describe("role gating", () => {
  let admin: Browser;
  let viewer: Browser;
  let adminToken: string;
  beforeAll(async () => {
    ({ adminToken } = await bootstrap());
    admin = await signedIn(adminToken);
    viewer = await signedIn((await makeToken(adminToken, { role: "viewer" })).token);
  });

  it("a viewer's navigation has no admin or manager pages; an admin's has them all", async () => {
    const nav = (html: string) => /<nav[\s\S]*<\/nav>/.exec(html)![0];
    const mine = nav(await (await viewer.get("/ui/credentials")).text());
    const theirs = nav(await (await admin.get("/ui/credentials")).text());
    for (const href of [
      "/ui/audit",
      "/ui/tokens",
      "/ui/teams",
      "/ui/oidc",
      "/ui/webhooks",
      "/ui/kek",
      "/ui/incident",
    ]) {
      expect(mine).not.toContain(`href="${href}"`);
      expect(theirs).toContain(`href="${href}"`);
    }
    expect(mine).toContain('href="/ui/leases"');
  });

  it.each([
    "/ui/audit",
    "/ui/audit/chain",
    "/ui/tokens",
    "/ui/teams",
    "/ui/oidc",
    "/ui/webhooks",
    "/ui/kek",
    "/ui/incident",
  ])("GET %s is a 403 page for a viewer and 200 for an admin", async (path) => {
    const refused = await viewer.get(path);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain("Not allowed");
    expect((await admin.get(path)).status).toBe(200);
  });

  it("the server refuses a viewer's manager and admin posts (with a valid session and CSRF token) and changes nothing; an admin's succeed", async () => {
    await createCredential(adminToken, "gated", "v1");
    const posts: [string, Record<string, string>][] = [
      ["/ui/credentials", { name: "by-viewer", value: "x" }],
      ["/ui/credentials/gated/rotate", { value: "v2" }],
      ["/ui/tokens", { name: "t", role: "admin", identity: "user:evil@acme.test", api_token: adminToken }],
      ["/ui/kek/rotate", {}],
      ["/ui/leases/break-glass", { all: "all", confirm: "REVOKE" }],
    ];
    for (const [path, fields] of posts) expect((await viewer.post(path, fields)).status, path).toBe(403);
    await expectStatus(await api(adminToken, "GET", "/v1/credentials/by-viewer"), 404);
    expect(
      (await expectStatus<{ current_version: number }>(await api(adminToken, "GET", "/v1/credentials/gated"), 200))
        .current_version,
    ).toBe(1);
    for (const [path, fields] of posts) expect((await admin.post(path, fields)).status, path).toBeLessThan(400);
    expect(
      (await expectStatus<{ current_version: number }>(await api(adminToken, "GET", "/v1/credentials/gated"), 200))
        .current_version,
    ).toBe(2);
  });
});

describe("pages", () => {
  it("hostile descriptions, token names, identities and agent names are shown as text, never as markup", async () => {
    const { adminToken } = await bootstrap();
    const cred = await createCredential(adminToken, "hostile");
    await expectStatus(await api(adminToken, "PATCH", "/v1/credentials/hostile", { description: HOSTILE }), 200);
    await makeToken(adminToken, { name: HOSTILE, identity: HOSTILE_IDENTITY, role: "user" });
    await expectStatus(
      await api(adminToken, "POST", "/v1/leases", { credential: "hostile", agent: { name: HOSTILE } }),
      201,
    );
    const b = await signedIn(adminToken);
    for (const path of [`/ui/credentials/${cred.id}`, "/ui/tokens", "/ui/leases", "/ui/audit", "/ui/audit/2"]) {
      const html = await (await b.get(path)).text();
      expect(html, path).not.toContain("<script>alert");
      expect(html, path).not.toContain("<img src=x");
    }
    // Positive control: the escaped forms are there.
    expect(await (await b.get("/ui/tokens")).text()).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
  });

  it("a credential value is never rendered: create, rotate, lease, then crawl every page an admin can reach", async () => {
    const { adminToken } = await bootstrap();
    const first = `CANARY-first-${crypto.randomUUID()}`;
    const second = `CANARY-second-${crypto.randomUUID()}`;
    const b = await signedIn(adminToken);
    const created = await b.post("/ui/credentials", { name: "canary", value: first, tags: "prod, canary" });
    expect(created.status).toBe(303);
    const detailPath = created.headers.get("location")!.split("?")[0]!;
    await b.get(detailPath);
    const rotated = await b.post(`${detailPath}/rotate`, { value: second });
    expect(rotated.status).toBe(303);
    expect(await rotated.text()).not.toContain(second);
    // Positive control: the vault holds the rotated value, and leasing it shows up on the pages.
    const lease = await expectStatus<{ value: string }>(
      await api(adminToken, "POST", "/v1/leases", { credential: "canary", purpose: "crawl" }),
      201,
    );
    expect(lease.value).toBe(second);
    const seen = new Set<string>();
    const queue = [
      "/ui/credentials",
      `/ui/incident?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z`,
      "/ui/incident.json?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z",
    ];
    let leasesShown = false;
    while (queue.length > 0 && seen.size < 150) {
      const path = queue.shift()!;
      if (seen.has(path)) continue;
      seen.add(path);
      const res = await b.get(path);
      const html = await res.text();
      expect(res.status, path).toBe(200);
      expect(html, path).not.toContain("CANARY-");
      if (path === "/ui/leases") leasesShown = html.includes("crawl") || html.includes("canary");
      for (const link of links(html)) if (!seen.has(link)) queue.push(link);
    }
    expect(seen.size).toBeGreaterThan(15);
    expect([...seen]).toEqual(expect.arrayContaining(["/ui/leases", "/ui/audit", "/ui/tokens", "/ui/kek", detailPath]));
    expect(leasesShown).toBe(true);
  });

  it("credentials: search by prefix and tag; the ACL editor saves and the who-may check answers for an identity", async () => {
    const { adminToken } = await bootstrap();
    const b = await signedIn(adminToken);
    const created = await b.post("/ui/credentials", { name: "prod/billing", value: "v", tags: "prod" });
    await b.post("/ui/credentials", { name: "dev/billing", value: "v", tags: "dev" });
    const byPrefix = await (await b.get("/ui/credentials?prefix=prod")).text();
    expect(byPrefix).toContain("prod/billing");
    expect(byPrefix).not.toContain("dev/billing");
    const byTag = await (await b.get("/ui/credentials?tag=dev")).text();
    expect(byTag).toContain("dev/billing");
    expect(byTag).not.toContain("prod/billing");
    const detail = created.headers.get("location")!.split("?")[0]!;
    await b.get(detail);
    const acl = { rules: [{ effect: "allow", identity: "agent:ci-*" }], agent_visible: false };
    expect((await b.post(`${detail}/acl`, { acl: JSON.stringify(acl) })).status).toBe(303);
    expect(await (await b.get(`${detail}?identity=agent:ci-1&permission=lease`)).text()).toMatch(/class="ok">Allowed/);
    expect(await (await b.get(`${detail}?identity=agent:other&permission=lease`)).text()).toMatch(/class="bad">Denied/);
    // Bad JSON and a bad rule are 400 pages naming the problem, and the saved ACL is unchanged.
    const badJson = await b.post(`${detail}/acl`, { acl: "{" });
    expect(badJson.status).toBe(400);
    const badRule = await b.post(`${detail}/acl`, {
      acl: JSON.stringify({ rules: [{ effect: "maybe", identity: "x" }] }),
    });
    expect(badRule.status).toBe(400);
    expect(await badRule.text()).toContain("effect");
    // A JSON escape that decodes to a lone surrogate is refused before the vault, as the API does.
    const lone = await b.post(`${detail}/acl`, { acl: '{"rules":[{"effect":"allow","identity":"agent:\\ud800"}]}' });
    expect(lone.status).toBe(400);
    expect(await lone.text()).toContain("acl");
    expect(await (await b.get(`${detail}?identity=agent:ci-1`)).text()).toMatch(/class="ok">Allowed/);
  });

  it("leases: revoke one from the list; break glass needs the typed word (server-checked) and then revokes the matching leases", async () => {
    const { adminToken } = await bootstrap();
    await createCredential(adminToken, "db");
    const one = await expectStatus<{ lease: { id: string } }>(
      await api(adminToken, "POST", "/v1/leases", { credential: "db" }),
      201,
    );
    const two = await expectStatus<{ lease: { id: string } }>(
      await api(adminToken, "POST", "/v1/leases", { credential: "db" }),
      201,
    );
    const b = await signedIn(adminToken);
    const list = await (await b.get("/ui/leases")).text();
    expect(list).toContain(one.lease.id);
    expect((await b.post(`/ui/leases/${one.lease.id}/revoke`, {})).status).toBe(303);
    expect(
      (await expectStatus<{ state: string }>(await api(adminToken, "GET", `/v1/leases/${one.lease.id}`), 200)).state,
    ).toBe("revoked");
    const unconfirmed = await b.post("/ui/leases/break-glass", { credential: "db", confirm: "revoke" });
    expect(unconfirmed.status).toBe(400);
    expect(
      (await expectStatus<{ state: string }>(await api(adminToken, "GET", `/v1/leases/${two.lease.id}`), 200)).state,
    ).toBe("active");
    expect((await b.post("/ui/leases/break-glass", { credential: "db", confirm: "REVOKE" })).status).toBe(303);
    expect(
      (await expectStatus<{ state: string }>(await api(adminToken, "GET", `/v1/leases/${two.lease.id}`), 200)).state,
    ).toBe("revoked");
  });

  it("a new API token and a webhook secret are shown once, on the answer to the post, and on no later page", async () => {
    const { adminToken } = await bootstrap();
    const b = await signedIn(adminToken);
    // Sessions cannot mint tokens (ops/tokens.ts): the form takes an API token for this one request.
    const sessionOnly = await b.post("/ui/tokens", { name: "deploy", role: "user", identity: "agent:deploy" });
    expect(sessionOnly.status).toBe(400);
    expect(await sessionOnly.text()).toContain("api_token");
    const res = await b.post("/ui/tokens", {
      name: "deploy",
      role: "user",
      identity: "agent:deploy",
      api_token: adminToken,
    });
    expect(res.status).toBe(200);
    const token = /<output id="shown-once">([^<]+)<\/output>/.exec(await res.text())![1]!;
    await expectStatus(await api(token, "GET", "/v1/whoami"), 200);
    const later = await (await b.get("/ui/tokens")).text();
    expect(later).toContain("deploy");
    expect(later).not.toContain(token);
    expect(later).not.toContain(adminToken);
    const hook = await b.post("/ui/webhooks", { name: "deploy-hook", credentials: "db*" });
    const secret = /<output id="shown-once">([^<]+)<\/output>/.exec(await hook.text())![1]!;
    expect(secret.length).toBeGreaterThan(20);
    expect(await (await b.get("/ui/webhooks")).text()).not.toContain(secret);
  });

  it("audit: filter by type and identity, entry detail, and a verified chain", async () => {
    const { adminToken } = await bootstrap();
    await createCredential(adminToken, "db");
    await expectStatus(await api(adminToken, "POST", "/v1/leases", { credential: "db" }), 201);
    const b = await signedIn(adminToken);
    const byType = await (await b.get("/ui/audit?type=lease.created")).text();
    expect(byType).toContain("lease.created");
    expect(byType).not.toContain("credential.created");
    const none = await (await b.get("/ui/audit?identity=user:nobody@acme.test")).text();
    expect(none).toContain("No entries match.");
    expect(await (await b.get("/ui/audit/1")).text()).toContain("&quot;seq&quot;: 1,");
    expect((await b.get("/ui/audit/999999")).status).toBe(404);
    expect(await (await b.get("/ui/audit/chain")).text()).toContain('class="ok">Verified');
    expect((await b.get("/ui/audit?since=yesterday")).status).toBe(400);
  });
});
