/** @jsxImportSource hono/jsx */
/**
 * Credentials: list and search, detail with versions, rotate, ACL editor with the "who may" check,
 * use policy, delete. No page ever receives a value from the vault (no operation here returns one),
 * so none can render it; rotate and create post the value and redirect without echoing it.
 */
import type { Hono } from "hono";
import type { z } from "zod";
import type { Acl, AclCheckSchema } from "../../contract/schemas/acl";
import type { Credential, CredentialPage, CredentialVersion } from "../../contract/schemas/credentials";
import type { UsePolicy } from "../../contract/schemas/use";
import { VaultError } from "../../contract/errors";
import { Field, PostForm, Select, Table, TextArea, doneRedirect, render } from "../layout";
import { call, durationField, jsonField, listField, may, present, type DashContext, type DashEnv } from "../vault";

type AclCheck = z.output<typeof AclCheckSchema>;

const Tags = ({ tags }: { tags: string[] }) => (
  <>
    {tags.map((t) => (
      <a class="tag" href={`/ui/credentials?${new URLSearchParams({ tag: t })}`}>
        {t}
      </a>
    ))}
  </>
);

async function list(c: DashContext) {
  const query = present(c.req.query(), ["prefix", "tag", "cursor"]);
  const page = await call<CredentialPage>(c, "credentials.list", { query: { ...query, limit: "50" } });
  const viewer = c.get("viewer");
  const next =
    page.next_cursor === null ? null : `/ui/credentials?${new URLSearchParams({ ...query, cursor: page.next_cursor })}`;
  return render(
    c,
    "Credentials",
    <>
      <form method="get" action="/ui/credentials" class="row" data-live data-target="cred-table">
        <Field label="Name prefix" name="prefix" value={query.prefix} />
        <Field label="Tag" name="tag" value={query.tag} />
        <button type="submit">Search</button>
      </form>
      <div id="cred-table">
        <Table
          head={["Name", "Tags", "Version", "Updated", "Created by"]}
          empty="No credentials match."
          rows={page.items.map((cr) => [
            <a href={`/ui/credentials/${cr.id}`}>{cr.name}</a>,
            <Tags tags={cr.tags} />,
            cr.current_version,
            cr.updated_at,
            cr.created_by,
          ])}
        />
        {next ? <a href={next}>Next page</a> : null}
      </div>
      {may(viewer, "credentials.create") ? (
        <section aria-labelledby="new-h">
          <h2 id="new-h">New credential</h2>
          <PostForm viewer={viewer} action="/ui/credentials" class="row">
            <Field label="Name" name="name" required placeholder="prod/db-url" />
            <Field
              label="Value (never shown again)"
              name="value"
              type="password"
              required
              autocomplete="new-password"
            />
            <Field label="Description" name="description" />
            <Field label="Tags (comma separated)" name="tags" />
            <Field label="Default TTL" name="default_ttl" placeholder="1h" />
            <Field label="Max TTL" name="max_ttl" placeholder="24h" />
            <button type="submit">Create</button>
          </PostForm>
        </section>
      ) : null}
    </>,
  );
}

const CheckResult = ({
  check,
  identity,
  permission,
}: {
  check: AclCheck | null;
  identity: string;
  permission: string;
}) => (
  <p id="acl-check" role="status" aria-live="polite">
    {check === null ? (
      "Enter an identity to see what the ACL answers."
    ) : (
      <>
        <span class={check.allowed ? "ok" : "bad"}>{check.allowed ? "Allowed" : "Denied"}</span>
        {` — ${identity} may ${check.allowed ? "" : "not "}${permission}`}
        {check.rule === null
          ? " (no rule decided: the default applies)"
          : ` (rule #${check.rule + 1}${check.team ? `, team ${check.team}` : ""})`}
      </>
    )}
  </p>
);

async function detail(c: DashContext) {
  const ref = c.req.param("ref")!;
  const viewer = c.get("viewer");
  const [cred, versions] = await Promise.all([
    call<Credential>(c, "credentials.get", { params: { ref } }),
    call<{ items: CredentialVersion[] }>(c, "credentials.versions", { params: { ref } }),
  ]);
  const manager = may(viewer, "acl.get");
  const acl = manager ? await call<Acl>(c, "acl.get", { params: { ref } }) : null;
  const use = await call<UsePolicy>(c, "use.get", { params: { ref } }).catch((e) =>
    e instanceof VaultError && e.status === 404 ? null : Promise.reject(e),
  );
  const identity = c.req.query("identity")?.trim() ?? "";
  const permission = c.req.query("permission") === "use" ? "use" : "lease";
  const check =
    manager && identity
      ? await call<AclCheck>(c, "acl.check", { params: { ref }, query: { identity, permission } })
      : null;
  const base = `/ui/credentials/${cred.id}`;
  return render(
    c,
    `Credential ${cred.name}`,
    <>
      <dl>
        <dt>Id</dt>
        <dd>
          <code>{cred.id}</code>
        </dd>
        <dt>Description</dt>
        <dd>{cred.description || "—"}</dd>
        <dt>Tags</dt>
        <dd>
          <Tags tags={cred.tags} />
        </dd>
        <dt>TTL</dt>
        <dd>{`default ${cred.default_ttl} s, max ${cred.max_ttl} s`}</dd>
        <dt>Current version</dt>
        <dd>{cred.current_version}</dd>
        <dt>Created</dt>
        <dd>{`${cred.created_at} by ${cred.created_by}`}</dd>
      </dl>
      <p>
        <a href={`/ui/leases?credential=${cred.id}`}>Leases of this credential</a>
        {may(viewer, "audit.query") ? (
          <>
            {" · "}
            <a href={`/ui/audit?credential=${cred.id}`}>Audit entries</a>
          </>
        ) : null}
      </p>
      <h2>Versions</h2>
      <Table
        head={["Version", "Created", "By", "KEK version"]}
        rows={versions.items.map((v) => [v.version, v.created_at, v.created_by, v.kek_version])}
      />
      {may(viewer, "credentials.rotate") ? (
        <section>
          <h2>Rotate value</h2>
          <PostForm viewer={viewer} action={`${base}/rotate`} class="row">
            <Field
              label="New value (never shown again)"
              name="value"
              type="password"
              required
              autocomplete="new-password"
            />
            <button type="submit">Rotate</button>
          </PostForm>
          <h2>Metadata</h2>
          <PostForm viewer={viewer} action={`${base}/update`} class="row">
            <Field label="Description" name="description" value={cred.description} />
            <Field label="Tags (comma separated)" name="tags" value={cred.tags.join(", ")} />
            <button type="submit">Save</button>
          </PostForm>
        </section>
      ) : null}
      {acl ? (
        <section>
          <h2>Access policy (ACL)</h2>
          <PostForm viewer={viewer} action={`${base}/acl`}>
            <TextArea
              label="Rules as JSON: {rules: [{effect, identity, permissions?}], agent_visible}"
              name="acl"
              value={JSON.stringify(acl, null, 2)}
            />
            <button type="submit">Save ACL</button>
          </PostForm>
          <h3>Who may lease or use it?</h3>
          <form method="get" action={base} class="row" data-live data-target="acl-check">
            <Field label="Identity" name="identity" value={identity} placeholder="agent:ci-bot" />
            <Select label="Permission" name="permission" options={["lease", "use"]} value={permission} />
            <button type="submit">Check</button>
          </form>
          <CheckResult check={check} identity={identity} permission={permission} />
        </section>
      ) : null}
      <section>
        <h2>Use policy</h2>
        {may(viewer, "use.set") ? (
          <PostForm viewer={viewer} action={`${base}/use`}>
            <TextArea
              label="Where the vault may call with this credential (JSON; empty to remove)"
              name="policy"
              value={use ? JSON.stringify(use, null, 2) : ""}
            />
            <button type="submit">Save use policy</button>
          </PostForm>
        ) : use ? (
          <pre>{JSON.stringify(use, null, 2)}</pre>
        ) : (
          <p class="empty">No use policy: the credential cannot be used through the proxy.</p>
        )}
      </section>
      {may(viewer, "credentials.delete") ? (
        <section>
          <h2>Delete</h2>
          <PostForm viewer={viewer} action={`${base}/delete`} confirmWord={cred.name}>
            <Field label={`Type the name (${cred.name}) to delete every version`} name="confirm" required />
            <button type="submit" class="danger">
              Delete credential
            </button>
          </PostForm>
        </section>
      ) : null}
    </>,
  );
}

/** Mounts the credential pages. */
export function credentialPages(ui: Hono<DashEnv>): void {
  ui.get("/credentials", list);
  ui.post("/credentials", async (c) => {
    const f = c.get("form");
    // The value is sent exactly as typed (no trimming: that would change the secret).
    const body = {
      ...present(f, ["name", "description"]),
      value: f.value ?? "",
      tags: listField(f.tags),
      default_ttl: durationField(f.default_ttl),
      max_ttl: durationField(f.max_ttl),
    };
    const created = await call<Credential>(c, "credentials.create", { body });
    return doneRedirect(c, `/ui/credentials/${created.id}`, "created");
  });
  ui.get("/credentials/:ref", detail);
  ui.post("/credentials/:ref/rotate", async (c) => {
    const ref = c.req.param("ref");
    await call(c, "credentials.rotate", { params: { ref }, body: { value: c.get("form").value ?? "" } });
    return doneRedirect(c, `/ui/credentials/${ref}`, "rotated");
  });
  ui.post("/credentials/:ref/update", async (c) => {
    const ref = c.req.param("ref");
    const f = c.get("form");
    await call(c, "credentials.update", {
      params: { ref },
      body: { description: f.description ?? "", tags: listField(f.tags) },
    });
    return doneRedirect(c, `/ui/credentials/${ref}`, "saved");
  });
  ui.post("/credentials/:ref/acl", async (c) => {
    const ref = c.req.param("ref");
    await call(c, "acl.set", { params: { ref }, body: jsonField(c.get("form"), "acl") });
    return doneRedirect(c, `/ui/credentials/${ref}`, "saved");
  });
  ui.post("/credentials/:ref/use", async (c) => {
    const ref = c.req.param("ref");
    const f = c.get("form");
    if ((f.policy ?? "").trim() === "") {
      await call(c, "use.delete", { params: { ref } }).catch((e) =>
        e instanceof VaultError && e.status === 404 ? null : Promise.reject(e),
      );
    } else {
      await call(c, "use.set", { params: { ref }, body: jsonField(f, "policy") });
    }
    return doneRedirect(c, `/ui/credentials/${ref}`, "saved");
  });
  ui.post("/credentials/:ref/delete", async (c) => {
    const ref = c.req.param("ref");
    const cred = await call<Credential>(c, "credentials.get", { params: { ref } });
    if (c.get("form").confirm !== cred.name)
      throw new VaultError("validation_failed", "confirm: type the credential's name exactly to delete it");
    await call(c, "credentials.delete", { params: { ref } });
    return doneRedirect(c, "/ui/credentials", "deleted");
  });
}
