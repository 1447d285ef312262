import type { Command } from "commander";
import { action, collect, withJson, type JsonOption } from "../context";
import { note, printJson, printTable } from "../output";
import { operatorLogin, operatorRequest } from "./operator-client";

/** A signal as GET /v1/operator/signals shows it (worker/contract/signals.ts). */
interface Signal {
  name: string;
  severity: "P0" | "P1";
  firing: boolean;
  summary: string;
}

/**
 * `ghostvault operator signals`: which P0/P1 conditions fire now (issue 13 §4, runbook §7). Exits 1
 * when any fires, so a cron job or a CI step can page on it; `--json` prints the whole report.
 */
export function registerOperatorSignals(operator: Command): void {
  withJson(
    operator
      .command("signals")
      .description("which P0/P1 signals fire now (last 5 minutes); exit code 1 if any does")
      .option("--tenant <id>", "only this tenant (repeatable)", collect),
  ).action(
    action(async (options: JsonOption & { tenant?: string[] }) => {
      const query = options.tenant?.length ? `?tenants=${encodeURIComponent(options.tenant.join(","))}` : "";
      const report = await operatorRequest<{
        firing: string[];
        signals: Signal[];
        tenants_checked: number;
        tenants_truncated: boolean;
      }>(await operatorLogin(), "GET", `/signals${query}`);
      if (options.json) printJson(report);
      else {
        printTable(
          ["signal", "class", "state", "numbers"],
          report.signals.map((s) => [s.name, s.severity, s.firing ? "FIRING" : "ok", s.summary]),
          "no signal",
        );
        note(
          `${report.tenants_checked} tenant(s) checked${report.tenants_truncated ? " (truncated: more are registered)" : ""}`,
        );
      }
      if (report.firing.length > 0) process.exitCode = 1;
    }),
  );
}
