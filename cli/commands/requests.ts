import type { Command } from "commander";
import { ApprovalPendingError, describeApprovers, type AccessRequest, type VaultClient } from "../../sdk/index";
import { action, positiveInt, vaultClient, withJson, type JsonOption } from "../context";
import { note, printFields, printJson, printTable, when } from "../output";

function requestFields(r: AccessRequest): [string, string | number | null][] {
  return [
    ["request", r.id],
    ["credential", r.credential_name],
    ["requester", r.identity],
    ["status", r.status],
    ["approvers", describeApprovers(r.approvers)],
    ["ttl", `${r.ttl}s`],
    ["purpose", r.purpose],
    ["expires", when(r.expires_at)],
    ["decided by", r.decided_by],
    ["reason", r.reason],
    ["lease", r.lease_id],
  ];
}

/** The options `lease` and `run` take for credentials an approve rule holds. */
export interface WaitFlags {
  /** `--no-wait` sets this to false; with both `--wait` and `--no-wait` defined, commander leaves it unset by default. */
  wait?: boolean;
  waitTimeout?: number;
}

/** Adds `--no-wait` and `--wait-timeout` to a command that leases. */
export function withWaitOptions(command: Command): Command {
  return command
    .option("--wait", "if a credential needs approval, wait for it and then take the lease (default)")
    .option("--no-wait", "if a credential needs approval, say who must approve it and exit 1 instead of waiting")
    .option(
      "--wait-timeout <seconds>",
      "give up waiting for an approval after this long (default: 900, the request's lifetime)",
      positiveInt,
    );
}

/** The stderr line of a lease held for approval: who must approve, the request id, what to run. */
export function pendingNote(error: ApprovalPendingError, waiting: boolean): string {
  const r = error.accessRequest;
  const how = `an approver runs: ghostvault requests approve ${r.id}`;
  return `ghostvault: ${r.credential_name} needs approval by ${describeApprovers(r.approvers)}; request ${r.id} (expires ${when(r.expires_at)}); ${how}${waiting ? "; waiting (Ctrl-C to stop)" : "; run the same command again once it is approved"}`;
}

/**
 * Leases with `vault`, waiting for approval unless `--no-wait` (then the pending request is an
 * error whose message names the approvers and the request).
 */
export function leaseWaiting(vault: VaultClient, flags: WaitFlags): VaultClient["lease"] {
  if (flags.wait === false) return (credential, options, call) => vault.lease(credential, options, call);
  return (credential, options, call) =>
    vault.leaseWithApproval(credential, options, {
      ...call,
      timeoutMs: (flags.waitTimeout ?? 900) * 1000,
      onPending: (error) => note(pendingNote(error, true)),
    });
}

/** `requests ls|show|approve|deny`: the approvers' queue and decisions. */
export function registerRequests(program: Command): void {
  const requests = program
    .command("requests")
    .description("access requests (just-in-time access): the queue you may approve, approve, deny");

  withJson(
    requests
      .command("ls")
      .description("pending requests you may approve (or, with --mine, your own), newest first")
      .option("--mine", "your own requests instead of the queue")
      .option("--limit <n>", "at most this many (1-100)", positiveInt),
  ).action(
    action(async (options: JsonOption & { mine?: boolean; limit?: number }) => {
      const items = await (await vaultClient()).requests.list({
        view: options.mine ? "mine" : "queue",
        limit: options.limit,
      });
      if (options.json) return printJson({ items });
      printTable(
        ["request", "credential", "requester", "status", "approvers", "purpose", "expires"],
        items.map((r) => [
          r.id,
          r.credential_name,
          r.identity,
          r.status,
          describeApprovers(r.approvers),
          r.purpose,
          when(r.expires_at),
        ]),
        options.mine ? "no requests" : "nothing waiting for your approval",
      );
    }),
  );

  withJson(requests.command("show").description("one access request").argument("<id>", "request id (areq_...)")).action(
    action(async (id: string, options: JsonOption) => {
      const request = await (await vaultClient()).requests.get(id);
      if (options.json) return printJson(request);
      printFields(requestFields(request));
    }),
  );

  withJson(
    requests
      .command("approve")
      .description("approve a pending request: its requester may then take one lease")
      .argument("<id>", "request id (areq_...)")
      .option("--reason <text>", "why, for the audit log"),
  ).action(
    action(async (id: string, options: JsonOption & { reason?: string }) => {
      const request = await (await vaultClient()).requests.approve(id, options.reason);
      if (options.json) return printJson(request);
      note(
        `approved ${request.id}: ${request.identity} may take one lease of ${request.credential_name} until ${when(request.expires_at)}`,
      );
    }),
  );

  withJson(
    requests
      .command("deny")
      .description("deny a pending request; the requester sees the reason")
      .argument("<id>", "request id (areq_...)")
      .requiredOption("--reason <text>", "why (shown to the requester)"),
  ).action(
    action(async (id: string, options: JsonOption & { reason: string }) => {
      const request = await (await vaultClient()).requests.deny(id, options.reason);
      if (options.json) return printJson(request);
      note(`denied ${request.id} (${request.identity}, ${request.credential_name})`);
    }),
  );
}
