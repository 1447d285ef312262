/** @jsxImportSource hono/jsx */
/**
 * Audit: filtered entries (one page of 100 at a time, continued by seq), one entry in full, and the
 * chain status (verified range, newest signed checkpoint and its signatures).
 */
import type { Hono } from "hono";
import { VaultError } from "../../contract/errors";
import type { AuditPage, AuditVerify } from "../../contract/schemas/audit";
import { Field, Table, render } from "../layout";
import { call, present, type DashContext, type DashEnv } from "../vault";

/** Entries per page: the audit page renders in well under 20 ms at this size (bench/scenarios/dashboard.mjs). */
export const AUDIT_PAGE_SIZE = 100;

/** `2026-12-01T17:00` (what a datetime-local field sends) as RFC 3339 UTC; anything else unchanged. */
function asTimestamp(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(value) ? `${value}:00Z` : value;
}

type Entry = {
  ts?: string;
  type?: string;
  outcome?: string;
  actor?: { identity?: string };
  target?: { kind?: string; id?: string } | null;
};

async function list(c: DashContext) {
  const query = present(c.req.query(), ["type", "identity", "credential", "since", "until", "from_seq"]);
  const input = {
    ...query,
    since: asTimestamp(query.since),
    until: asTimestamp(query.until),
    limit: String(AUDIT_PAGE_SIZE),
  };
  const page = await call<AuditPage>(c, "audit.query", {
    query: Object.fromEntries(Object.entries(input).filter((e): e is [string, string] => e[1] !== undefined)),
  });
  const next =
    page.next_from_seq === null
      ? null
      : `/ui/audit?${new URLSearchParams({ ...query, from_seq: String(page.next_from_seq) })}`;
  return render(
    c,
    "Audit log",
    <>
      <p>
        <a href="/ui/audit/chain">Chain status and checkpoints</a>
      </p>
      <form method="get" action="/ui/audit" class="row">
        <Field label="Type" name="type" value={query.type} placeholder="lease.created" />
        <Field label="Identity" name="identity" value={query.identity} />
        <Field label="Credential id" name="credential" value={query.credential} placeholder="cred_…" />
        <Field label="Since (UTC)" name="since" value={query.since} placeholder="2026-12-01T00:00:00Z" />
        <Field label="Until (UTC)" name="until" value={query.until} />
        <Field label="From seq" name="from_seq" value={query.from_seq} />
        <button type="submit">Search</button>
      </form>
      <Table
        id="audit-table"
        head={["Seq", "Time", "Type", "Identity", "Target", "Outcome"]}
        empty="No entries match."
        rows={page.items.map((r) => {
          const e = r.entry as Entry;
          return [
            <a href={`/ui/audit/${r.seq}`}>{r.seq}</a>,
            e.ts ?? "",
            e.type ?? "",
            e.actor?.identity ?? "",
            e.target ? `${e.target.kind}:${e.target.id}` : "—",
            e.outcome ?? "",
          ];
        })}
      />
      {next ? <a href={next}>Next page</a> : null}
    </>,
  );
}

async function entry(c: DashContext) {
  const seq = c.req.param("seq")!;
  if (!/^\d{1,15}$/.test(seq)) throw new VaultError("validation_failed", "path: seq must be a positive whole number");
  const page = await call<AuditPage>(c, "audit.query", { query: { from_seq: seq, to_seq: seq, limit: "1" } });
  const found = page.items[0];
  if (!found) throw new VaultError("not_found", `no audit entry ${seq}`);
  return render(
    c,
    `Audit entry ${found.seq}`,
    <>
      <dl>
        <dt>Hash</dt>
        <dd>
          <code>{found.hash}</code>
        </dd>
      </dl>
      <pre id="entry-json">{JSON.stringify(found.entry, null, 2)}</pre>
      <p>
        <a href="/ui/audit">Back to the log</a>
      </p>
    </>,
  );
}

async function chain(c: DashContext) {
  const [verify, checkpoints] = await Promise.all([
    call<AuditVerify>(c, "audit.verify", { query: { allow_unsigned_tail: "true" } }),
    call<{ items: { size: number; created_at: string; note: string }[] }>(c, "audit.checkpoints", { query: {} }),
  ]);
  const newest = checkpoints.items.at(-1) ?? null;
  return render(
    c,
    "Audit chain",
    <>
      {verify.ok ? (
        <p id="chain-status">
          <span class="ok">Verified</span>
          {` entries ${verify.from_seq}–${verify.to_seq} (${verify.checked} checked, ${verify.checkpoints} checkpoints); signed through ${verify.signed_through}, ${verify.unsigned_tail} not yet signed.`}
        </p>
      ) : (
        <p id="chain-status" role="alert">
          <span class="bad">Broken</span>
          {` at seq ${verify.seq}: ${verify.reason}`}
        </p>
      )}
      <h2>Newest checkpoint</h2>
      {newest ? (
        <>
          <p>{`Size ${newest.size}, signed ${newest.created_at}. The note and its signature lines:`}</p>
          <pre>{newest.note}</pre>
        </>
      ) : (
        <p class="empty">No checkpoint signed yet.</p>
      )}
    </>,
  );
}

/** Mounts the audit pages. */
export function auditPages(ui: Hono<DashEnv>): void {
  ui.get("/audit", list);
  ui.get("/audit/chain", chain);
  ui.get("/audit/:seq", entry);
}
