/** @jsxImportSource hono/jsx */
/**
 * Who may get in: API tokens (a new token is shown once, on the answer to the POST, and never
 * again), sessions, teams, OIDC trusts and webhooks (a new webhook's secret is shown once).
 */
import type { Hono } from "hono";
import type { CreatedToken, TokenPage } from "../../contract/schemas/tokens";
import type { Team } from "../../contract/schemas/teams";
import { ROLES } from "../../contract/roles";
import { Field, PostForm, Select, ShownOnce, Table, TextArea, doneRedirect, render } from "../layout";
import { VaultError } from "../../contract/errors";
import { parseToken } from "../../core/auth/tokens";
import {
  call,
  callAs,
  durationField,
  requireRole,
  jsonField,
  listField,
  may,
  present,
  type DashContext,
  type DashEnv,
} from "../vault";

async function tokensPage(c: DashContext, created?: CreatedToken) {
  const viewer = c.get("viewer");
  const page = await call<TokenPage>(c, "tokens.list", {
    query: { limit: "100", ...present(c.req.query(), ["cursor"]) },
  });
  return render(
    c,
    "API tokens",
    <>
      {created ? (
        <ShownOnce label={`New token ${created.name} (${created.role}, ${created.identity})`} value={created.token} />
      ) : null}
      <Table
        head={["Name", "Kind", "Role", "Identity", "Created", "Expires", ""]}
        rows={page.items.map((t) => [
          t.name,
          t.kind,
          t.role,
          t.identity,
          t.created_at,
          t.expires_at ?? "never",
          <PostForm viewer={viewer} action={`/ui/tokens/${t.id}/revoke`} class="inline">
            <button type="submit" class="danger" aria-label={`Revoke token ${t.name}`}>
              Revoke
            </button>
          </PostForm>,
        ])}
      />
      <h2>New API token</h2>
      <PostForm viewer={viewer} action="/ui/tokens" class="row">
        <Field label="Name" name="name" required />
        <Select label="Role" name="role" options={ROLES} value="viewer" />
        <Field label="Identity" name="identity" required placeholder="agent:deploy-bot" />
        <Field label="Expires in" name="expires_in" placeholder="30d" />
        <Field
          label="Your admin API token (a session cannot create tokens; it is used for this request only)"
          name="api_token"
          type="password"
          required
        />
        <button type="submit">Create token</button>
      </PostForm>
    </>,
  );
}

async function sessionsPage(c: DashContext) {
  const viewer = c.get("viewer");
  // Admins list every session; anyone else's page still asks the vault whether this one is alive.
  const all = may(viewer, "tokens.list")
    ? (await call<TokenPage>(c, "tokens.list", { query: { limit: "100" } })).items.filter((t) => t.kind === "session")
    : await call(c, "whoami").then(() => []);
  return render(
    c,
    "Sessions",
    <>
      <h2>This session</h2>
      <dl>
        <dt>Identity</dt>
        <dd>{viewer.identity}</dd>
        <dt>Role</dt>
        <dd>{viewer.role}</dd>
        <dt>Ends at the latest</dt>
        <dd>{viewer.expires_at ?? "—"}</dd>
      </dl>
      <p>
        Sessions end after 30 minutes without use, at the time above, when signed out, or when their API token is
        revoked.
      </p>
      {may(viewer, "tokens.list") ? (
        <>
          <h2>All active sessions</h2>
          <Table
            head={["Name", "Role", "Identity", "Created", "Expires", ""]}
            rows={all.map((t) => [
              t.name,
              t.role,
              t.identity,
              t.created_at,
              t.expires_at ?? "",
              <PostForm viewer={viewer} action={`/ui/sessions/${t.id}/revoke`} class="inline">
                <button type="submit" class="danger" aria-label={`End session ${t.id}`}>
                  End
                </button>
              </PostForm>,
            ])}
          />
        </>
      ) : null}
    </>,
  );
}

async function teamsPage(c: DashContext) {
  const viewer = c.get("viewer");
  const teams = await call<{ items: Team[] }>(c, "teams.list");
  const admin = may(viewer, "teams.set");
  return render(
    c,
    "Teams",
    <>
      <Table
        head={["Team", "Members", "Updated", ""]}
        rows={teams.items.map((t) => [
          t.name,
          t.members.join(", "),
          t.updated_at,
          admin ? (
            <PostForm viewer={viewer} action={`/ui/teams/${t.name}/delete`} class="inline">
              <button type="submit" class="danger" aria-label={`Delete team ${t.name}`}>
                Delete
              </button>
            </PostForm>
          ) : (
            ""
          ),
        ])}
      />
      {admin ? (
        <>
          <h2>Create or replace a team</h2>
          <PostForm viewer={viewer} action="/ui/teams" class="row">
            <Field label="Team name" name="name" required />
            <Field
              label="Member identity globs (comma separated)"
              name="members"
              placeholder="agent:ci-*, user:*@acme.test"
            />
            <button type="submit">Save team</button>
          </PostForm>
        </>
      ) : null}
    </>,
  );
}

type Trust = { id: string; name: string; issuer: string; audience: string; role: string; credentials: string[] };
type Webhook = {
  id: string;
  name: string;
  identity: string;
  credentials: string[];
  max_ttl: number;
  created_at: string;
};

async function oidcPage(c: DashContext) {
  const viewer = c.get("viewer");
  const trusts = await call<{ items: Trust[] }>(c, "oidc.list");
  return render(
    c,
    "OIDC trusts",
    <>
      <Table
        head={["Name", "Issuer", "Audience", "Role", "Credentials", ""]}
        rows={trusts.items.map((t) => [
          t.name,
          t.issuer,
          t.audience,
          t.role,
          t.credentials.join(", "),
          <PostForm viewer={viewer} action={`/ui/oidc/${t.id}/delete`} class="inline">
            <button type="submit" class="danger" aria-label={`Delete trust ${t.name}`}>
              Delete
            </button>
          </PostForm>,
        ])}
      />
      <h2>New trust</h2>
      <PostForm viewer={viewer} action="/ui/oidc">
        <TextArea
          label="Trust policy as JSON (name, issuer, audience, conditions, identity_template, role, credentials, …)"
          name="trust"
          rows={10}
        />
        <button type="submit">Create trust</button>
      </PostForm>
    </>,
  );
}

async function webhooksPage(c: DashContext, created?: { webhook: Webhook; secret: string }) {
  const viewer = c.get("viewer");
  const hooks = await call<{ items: Webhook[] }>(c, "webhooks.list");
  return render(
    c,
    "Webhooks",
    <>
      {created ? (
        <ShownOnce label={`Signing secret of webhook ${created.webhook.name}`} value={created.secret} />
      ) : null}
      <Table
        head={["Name", "Identity", "Credentials", "Max TTL", "Created", ""]}
        rows={hooks.items.map((w) => [
          w.name,
          w.identity,
          w.credentials.join(", "),
          w.max_ttl,
          w.created_at,
          <PostForm viewer={viewer} action={`/ui/webhooks/${w.id}/delete`} class="inline">
            <button type="submit" class="danger" aria-label={`Delete webhook ${w.name}`}>
              Delete
            </button>
          </PostForm>,
        ])}
      />
      <h2>New webhook</h2>
      <PostForm viewer={viewer} action="/ui/webhooks" class="row">
        <Field label="Name" name="name" required />
        <Field label="Credential globs (comma separated)" name="credentials" required />
        <Field label="Max TTL" name="max_ttl" placeholder="1h" />
        <button type="submit">Create webhook</button>
      </PostForm>
    </>,
  );
}

/** Mounts tokens, sessions, teams, OIDC trusts and webhooks. */
export function accessPages(ui: Hono<DashEnv>): void {
  ui.get("/tokens", (c) => tokensPage(c));
  ui.post("/tokens", async (c) => {
    const f = c.get("form");
    requireRole(c, "tokens.create");
    // The vault lets only API tokens mint tokens (ops/tokens.ts), so a session cannot be turned into
    // a long-lived credential: the admin presents an API token of this tenant for this one request.
    const apiToken = parseToken((f.api_token ?? "").trim());
    if (!apiToken || apiToken.kind !== "api" || apiToken.tenantId !== c.get("viewer").tenant_id) {
      throw new VaultError("validation_failed", "api_token: paste an API token of this tenant to create a token");
    }
    const input = { ...present(f, ["name", "role", "identity"]), expires_in: durationField(f.expires_in) };
    const created = await callAs<CreatedToken>(c, apiToken.raw, apiToken.tenantId, "tokens.create", { body: input });
    // Rendered directly, not redirected: the token must not travel in a URL, and is shown this once.
    return tokensPage(c, created);
  });
  ui.post("/tokens/:id/revoke", async (c) => {
    await call(c, "tokens.revoke", { params: { id: c.req.param("id") } });
    return doneRedirect(c, "/ui/tokens", "revoked");
  });
  ui.get("/sessions", sessionsPage);
  ui.post("/sessions/:id/revoke", async (c) => {
    await call(c, "sessions.revoke", { params: { id: c.req.param("id") } });
    return doneRedirect(c, "/ui/sessions", "revoked");
  });
  ui.get("/teams", teamsPage);
  ui.post("/teams", async (c) => {
    const f = c.get("form");
    await call(c, "teams.set", { params: { name: (f.name ?? "").trim() }, body: { members: listField(f.members) } });
    return doneRedirect(c, "/ui/teams", "saved");
  });
  ui.post("/teams/:name/delete", async (c) => {
    await call(c, "teams.delete", { params: { name: c.req.param("name") } });
    return doneRedirect(c, "/ui/teams", "deleted");
  });
  ui.get("/oidc", oidcPage);
  ui.post("/oidc", async (c) => {
    await call(c, "oidc.create", { body: jsonField(c.get("form"), "trust") });
    return doneRedirect(c, "/ui/oidc", "created");
  });
  ui.post("/oidc/:ref/delete", async (c) => {
    await call(c, "oidc.delete", { params: { ref: c.req.param("ref") } });
    return doneRedirect(c, "/ui/oidc", "deleted");
  });
  ui.get("/webhooks", (c) => webhooksPage(c));
  ui.post("/webhooks", async (c) => {
    const f = c.get("form");
    const created = await call<{ webhook: Webhook; secret: string }>(c, "webhooks.create", {
      body: { ...present(f, ["name"]), credentials: listField(f.credentials), max_ttl: durationField(f.max_ttl) },
    });
    return webhooksPage(c, created);
  });
  ui.post("/webhooks/:ref/delete", async (c) => {
    await call(c, "webhooks.delete", { params: { ref: c.req.param("ref") } });
    return doneRedirect(c, "/ui/webhooks", "deleted");
  });
}
