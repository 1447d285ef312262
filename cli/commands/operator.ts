import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Command } from "commander";
import { operatorConfigPath, writeConfig } from "../config";
import { action, CliError, collect, withJson, type JsonOption } from "../context";
import { readAll, stripFinalNewline, promptHidden } from "../input";
import { note, printFields, printJson, printLine, printTable, when } from "../output";
import { isoTime } from "./admin";
import { vaultUrl } from "./auth";
import { operatorLogin, operatorRequest, waitForJob, type OperatorJob } from "./operator-client";
import { registerOperatorSignals } from "./operator-signals";

/** Options of the commands that start a fleet job. */
interface JobOptions extends JsonOption {
  tenant?: string[];
  all?: boolean;
  wait?: boolean;
}

/** `--tenant` (repeatable) or `--all`: exactly one. */
function selection(options: JobOptions, allowAll = true): "all" | string[] {
  if (options.all && options.tenant) throw new CliError("give --tenant or --all, not both", 2);
  if (options.all) {
    if (!allowAll) throw new CliError("name the tenants with --tenant: this action is never fleet-wide", 2);
    return "all";
  }
  if (!options.tenant || options.tenant.length === 0)
    throw new CliError(allowAll ? "give --tenant <id> (repeatable) or --all" : "give --tenant <id> (repeatable)", 2);
  return options.tenant;
}

/** One line per tenant: what the job did there. */
function summary(job: OperatorJob): (string | number)[][] {
  return job.tenants.map((t) => [
    t.tenant_id,
    t.state,
    t.error ?? (t.result === null ? "" : JSON.stringify(t.result).slice(0, 120)),
  ]);
}

/** Starts a job; with --wait, follows it to the end and exits 1 if any tenant failed. */
async function runJob(body: Record<string, unknown>, options: JobOptions): Promise<void> {
  const login = await operatorLogin();
  const started = await operatorRequest<OperatorJob>(login, "POST", "/jobs", body);
  if (!options.wait) {
    if (options.json) return printJson(started);
    return note(
      `job ${started.id} started (${started.kind}, ${started.progress.total} tenants); follow it with \`ghostvault operator jobs ${started.id}\``,
    );
  }
  const done = await waitForJob(login, started.id, (j) => {
    if (!options.json)
      note(`${j.id}: ${j.progress.done + j.progress.failed}/${j.progress.total} tenants (${j.progress.failed} failed)`);
  });
  if (options.json) printJson(done);
  else printTable(["tenant", "state", "result"], summary(done), "no tenant");
  if (done.progress.failed > 0) process.exitCode = 1;
}

function jobCommand(parent: Command, name: string, description: string, allowAll = true): Command {
  const command = parent
    .command(name)
    .description(description)
    .option("--tenant <id>", "a tenant id (repeatable)", collect);
  if (allowAll) command.option("--all", "every active or suspended tenant in the registry");
  return withJson(command.option("--wait", "follow the job to the end and print each tenant's result"));
}

/** `ghostvault operator …`: the operator plane (README "Operating Vault"). */
export function registerOperator(program: Command): void {
  const operator = program
    .command("operator")
    .description("the operator plane: fleet-wide incident tools (operator token, not a tenant's)");

  withJson(
    operator
      .command("login")
      .description("check an operator token, then store it apart from tenant logins (operator.json, mode 0600)")
      .argument("<url>", "vault URL")
      .option("--token-stdin", "read the token from stdin (else $GHOSTVAULT_OPERATOR_TOKEN, else a hidden prompt)"),
  ).action(
    action(async (urlArg: string, options: JsonOption & { tokenStdin?: boolean }) => {
      const url = vaultUrl(urlArg);
      let token = options.tokenStdin
        ? stripFinalNewline(await readAll()).trim()
        : process.env.GHOSTVAULT_OPERATOR_TOKEN;
      if (!token && process.stdin.isTTY) token = (await promptHidden("operator token: ")).trim();
      if (!token)
        throw new CliError(
          "no token: pipe it with --token-stdin, set GHOSTVAULT_OPERATOR_TOKEN, or run in a terminal",
          2,
        );
      // Checked before it is stored.
      const who = await operatorRequest<{ operator: string }>({ url, token }, "GET", "/whoami");
      const file = await writeConfig({ url, token }, process.env, operatorConfigPath());
      if (options.json) return printJson({ url, file, operator: who.operator });
      note(`logged in to ${url} as ${who.operator}; saved to ${file}`);
    }),
  );

  withJson(operator.command("whoami").description("the operator of the stored token")).action(
    action(async (options: JsonOption) => {
      const who = await operatorRequest<{ operator: string; token_id: string }>(
        await operatorLogin(),
        "GET",
        "/whoami",
      );
      if (options.json) return printJson(who);
      printFields([
        ["operator", who.operator],
        ["token", who.token_id],
      ]);
    }),
  );

  withJson(
    operator
      .command("tenants")
      .description("the tenant registry")
      .option("--status <status>", "active, suspended or closed"),
  ).action(
    action(async (options: JsonOption & { status?: string }) => {
      const login = await operatorLogin();
      const items: { id: string; name: string; created_at: string; status: string }[] = [];
      for (let after: string | null = ""; after !== null; ) {
        const q = new URLSearchParams({
          limit: "500",
          ...(after ? { after } : {}),
          ...(options.status ? { status: options.status } : {}),
        });
        const page: { items: typeof items; next_after: string | null } = await operatorRequest(
          login,
          "GET",
          `/tenants?${q}`,
        );
        items.push(...page.items);
        after = page.next_after;
      }
      if (options.json) return printJson({ items });
      printTable(
        ["id", "name", "status", "created"],
        items.map((t) => [t.id, t.name, t.status, when(t.created_at)]),
        "no tenant",
      );
    }),
  );

  jobCommand(operator, "verify", "verify tenants' audit chains (optionally over a window)")
    .option("--from <time>", "window start, ISO 8601")
    .option("--to <time>", "window end, ISO 8601")
    .action(
      action(async (o: JobOptions & { from?: string; to?: string }) =>
        runJob(
          {
            kind: "verify_audit",
            tenants: selection(o),
            ...(o.from ? { from: isoTime(o.from) } : {}),
            ...(o.to ? { to: isoTime(o.to) } : {}),
          },
          o,
        ),
      ),
    );

  jobCommand(operator, "rotate-keks", "rotate tenant KEKs now (P0: immediate KEK rotation)").action(
    action(async (o: JobOptions) => runJob({ kind: "rotate_kek", tenants: selection(o) }, o)),
  );

  jobCommand(operator, "revoke-leases", "revoke every active lease of the named tenants", false)
    .requiredOption("--reason <text>", "why, recorded in each tenant's audit log")
    .action(
      action(async (o: JobOptions & { reason: string }) =>
        runJob({ kind: "revoke_leases", tenants: selection(o, false), reason: o.reason }, o),
      ),
    );

  for (const [kind, what] of [
    [
      "suspend",
      "suspend the named tenants: every tenant token, session, CI call and proxy call is refused (P0: contain)",
    ],
    ["reactivate", "reactivate the named suspended tenants"],
  ] as const) {
    jobCommand(operator, kind, what, false)
      .requiredOption("--reason <text>", "why, recorded in each tenant's audit log")
      .action(
        action(async (o: JobOptions & { reason: string }) =>
          runJob({ kind, tenants: selection(o, false), reason: o.reason }, o),
        ),
      );
  }

  jobCommand(operator, "impact", "per-tenant impact report for a window (then: operator disclosure <job>)")
    .requiredOption("--from <time>", "window start, ISO 8601")
    .requiredOption("--to <time>", "window end, ISO 8601")
    .action(
      action(async (o: JobOptions & { from: string; to: string }) =>
        runJob({ kind: "impact", tenants: selection(o), from: isoTime(o.from), to: isoTime(o.to) }, o),
      ),
    );

  jobCommand(
    operator,
    "rotate-root",
    "rewrap tenant KEKs under the KMS's current root key (after a root-key change)",
  ).action(action(async (o: JobOptions) => runJob({ kind: "rewrap_root", tenants: selection(o) }, o)));

  withJson(
    operator
      .command("disclosure")
      .description("disclosure drafts (Markdown and JSON) for every affected tenant of a finished impact job")
      .argument("<job>", "the impact job's id")
      .option("--out <dir>", "write <tenant>.md and <tenant>.json there instead of printing"),
  ).action(
    action(async (id: string, options: JsonOption & { out?: string }) => {
      const drafts = await operatorRequest<{ items: { tenant_id: string; json: unknown; markdown: string }[] }>(
        await operatorLogin(),
        "GET",
        `/jobs/${encodeURIComponent(id)}/disclosures`,
      );
      if (options.out) {
        await mkdir(options.out, { recursive: true, mode: 0o700 });
        for (const d of drafts.items) {
          await writeFile(path.join(options.out, `${d.tenant_id}.md`), d.markdown, { mode: 0o600 });
          await writeFile(path.join(options.out, `${d.tenant_id}.json`), JSON.stringify(d.json, null, 2) + "\n", {
            mode: 0o600,
          });
        }
        if (options.json) return printJson({ written: drafts.items.map((d) => d.tenant_id), dir: options.out });
        return note(`${drafts.items.length} draft(s) written to ${options.out}`);
      }
      if (options.json) return printJson(drafts);
      if (drafts.items.length === 0) return note("no tenant was affected in the job's window");
      for (const d of drafts.items) printLine(d.markdown);
    }),
  );

  withJson(
    operator
      .command("jobs")
      .description("recent jobs, or one job's progress and per-tenant results")
      .argument("[id]", "a job id"),
  ).action(
    action(async (id: string | undefined, options: JsonOption) => {
      const login = await operatorLogin();
      if (id === undefined) {
        const list = await operatorRequest<{
          items: { id: string; kind: string; operator: string; state: string; created_at: string }[];
        }>(login, "GET", "/jobs");
        if (options.json) return printJson(list);
        return printTable(
          ["id", "kind", "operator", "state", "created"],
          list.items.map((j) => [j.id, j.kind, j.operator, j.state, when(j.created_at)]),
          "no job",
        );
      }
      const job = await operatorRequest<OperatorJob>(login, "GET", `/jobs/${encodeURIComponent(id)}?limit=500`);
      if (options.json) return printJson(job);
      printFields([
        ["job", job.id],
        ["kind", job.kind],
        ["operator", job.operator],
        ["state", job.state],
        [
          "progress",
          `${job.progress.done} done, ${job.progress.failed} failed, ${job.progress.pending} pending of ${job.progress.total}`,
        ],
      ]);
      printLine();
      printTable(["tenant", "state", "result"], summary(job), "no tenant");
    }),
  );

  registerOperatorSignals(operator);

  withJson(operator.command("log").description("the operator log and whether its hash chain verifies")).action(
    action(async (options: JsonOption) => {
      const log = await operatorRequest<{
        items: { seq: number; entry: { ts: string; operator: string; action: string; details: unknown } }[];
        chain: { ok: boolean };
      }>(await operatorLogin(), "GET", "/log?limit=500");
      if (options.json) return printJson(log);
      printTable(
        ["seq", "time", "operator", "action", "details"],
        log.items.map((i) => [
          i.seq,
          when(i.entry.ts),
          i.entry.operator,
          i.entry.action,
          JSON.stringify(i.entry.details).slice(0, 100),
        ]),
        "empty log",
      );
      note(log.chain.ok ? "operator log chain verifies" : "operator log chain does NOT verify");
      if (!log.chain.ok) process.exitCode = 1;
    }),
  );
}
