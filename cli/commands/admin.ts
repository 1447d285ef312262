import type { Command } from "commander";
import { action, CliError, vaultClient, withJson, type JsonOption } from "../context";
import { note, printFields, printJson, printLine, printTable, when } from "../output";

/** Accepts an ISO 8601 time or a date, and returns it as ISO 8601 with milliseconds. */
export function isoTime(value: string): string {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new CliError(`not a time: ${value} (use ISO 8601, e.g. 2026-05-01T12:00:00Z)`, 2);
  return new Date(ms).toISOString();
}

/** `kek status|rotate` and `incident report`. */
export function registerAdmin(program: Command): void {
  const kek = program.command("kek").description("the tenant key-encryption key (admin): status, rotate");

  withJson(kek.command("status").description("KEK versions and rewrap progress")).action(
    action(async (options: JsonOption) => {
      const status = await (await vaultClient()).admin.kekStatus();
      if (options.json) return printJson(status);
      printFields([
        ["active version", status.active_version],
        [
          "sweep",
          status.sweep.running
            ? `running to v${status.sweep.target_version}, ${status.sweep.rewrapped} rewrapped`
            : "idle",
        ],
      ]);
      printLine();
      printTable(
        ["version", "state", "wrapped deks", "created", "destroyed"],
        status.versions.map((v) => [v.version, v.state, v.wrapped_deks, when(v.created_at), when(v.destroyed_at)]),
      );
    }),
  );

  withJson(kek.command("rotate").description("rotate the KEK now; data keys are rewrapped in the background")).action(
    action(async (options: JsonOption) => {
      // One key per invocation, so the SDK's retries never rotate twice (README "API").
      const result = await (await vaultClient()).admin.rotateKek({ idempotencyKey: crypto.randomUUID() });
      if (options.json) return printJson(result);
      note(
        `KEK rotated: v${result.previous_version} -> v${result.active_version}; rewrap runs in the background (see \`ghostvault kek status\`)`,
      );
    }),
  );

  const incident = program.command("incident").description("incident tools (admin)");

  withJson(
    incident
      .command("report")
      .description("which credentials were leased in a window, by whom, and how each lease ended")
      .requiredOption("--from <time>", "window start, ISO 8601")
      .requiredOption("--to <time>", "window end, ISO 8601"),
  ).action(
    action(async (options: JsonOption & { from: string; to: string }) => {
      const report = await (await vaultClient()).incident.impact({
        from: isoTime(options.from),
        to: isoTime(options.to),
      });
      if (options.json) return printJson(report);
      printTable(
        ["credential", "leases", "identities"],
        report.credentials.map((c) => [c.credential_name, c.leases.length, c.identities.join(", ")]),
        `no credential was leased between ${report.from} and ${report.to}`,
      );
      if (report.truncated) note("the report is truncated: narrow the window");
    }),
  );
}
