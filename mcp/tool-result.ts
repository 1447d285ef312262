import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { formatError } from "../cli/output";
import { ApprovalPendingError, describeApprovers } from "../sdk/node";

/** A tool answer: `value` as indented JSON text (never anything holding a secret unless revealing on purpose). */
export function jsonResult(value: unknown): CallToolResult {
  return { content: [{ type: "text", text: JSON.stringify(value, null, 2) }] };
}

/** A failed tool call as the model sees it: one line, with the API's code and request id. */
export function errorResult(error: unknown): CallToolResult {
  return { isError: true, content: [{ type: "text", text: formatError(error) }] };
}

/**
 * A lease an approve rule holds, as the model sees it: not a failure but a state to wait on, with
 * who must approve, the request id and what to do next. A person approves; the model cannot.
 */
export function pendingResult(error: ApprovalPendingError): CallToolResult {
  const r = error.accessRequest;
  const text = [
    `Waiting for approval by ${describeApprovers(r.approvers)}: access request ${r.id} for "${r.credential_name}" (expires ${r.expires_at}).`,
    `Nothing was leased. Ask a person who may approve it to run \`ghostvault requests approve ${r.id}\` (or to use the dashboard),`,
    "then call this tool again with the same arguments: the approved request's one lease is taken then.",
  ].join(" ");
  return { content: [{ type: "text", text }] };
}

/** Runs a tool body and turns any failure into {@link errorResult}, and a pending approval into {@link pendingResult}. */
export async function guarded(fn: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof ApprovalPendingError) return pendingResult(error);
    return errorResult(error);
  }
}
