import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { formatError } from "../cli/output";

/** A tool answer: `value` as indented JSON text (never anything holding a secret unless revealing on purpose). */
export function jsonResult(value: unknown): CallToolResult {
  return { content: [{ type: "text", text: JSON.stringify(value, null, 2) }] };
}

/** A failed tool call as the model sees it: one line, with the API's code and request id. */
export function errorResult(error: unknown): CallToolResult {
  return { isError: true, content: [{ type: "text", text: formatError(error) }] };
}

/** Runs a tool body and turns any failure into {@link errorResult}. */
export async function guarded(fn: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await fn();
  } catch (error) {
    return errorResult(error);
  }
}
