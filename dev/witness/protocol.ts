/**
 * The request side of C2SP tlog-witness (https://c2sp.org/tlog-witness) `add-checkpoint`:
 *
 *   old <size>\n
 *   <base64 proof hash>\n        (0 to 63 lines, a consistency proof from <size> to the new size)
 *   \n
 *   <signed checkpoint note>
 *
 * Parsing is strict (canonical decimal and base64, 32-byte hashes) and never throws: a bad body is
 * a 400 with the reason, never a 500.
 */

import { fromBase64 } from "../../worker/core/audit/encoding";
import { readBounded } from "../../worker/core/federation/document-fetch";

/** tlog-witness: at most 63 proof lines (enough for any tree below 2^63 leaves). */
export const MAX_PROOF_LINES = 63;
/** A request is an old size, ≤ 63 × 45 bytes of proof and a checkpoint of a few hundred bytes. */
export const MAX_REQUEST_BYTES = 16 * 1024;

/** A parsed add-checkpoint request; the note is checked later (signatures, checkpoint body). */
export interface AddCheckpointRequest {
  readonly oldSize: number;
  readonly proof: Uint8Array[];
  readonly note: string;
}

/** Parses an add-checkpoint body, or says what is wrong with it. */
export function parseAddCheckpoint(
  body: string,
): { ok: true; request: AddCheckpointRequest } | { ok: false; reason: string } {
  const fail = (reason: string) => ({ ok: false, reason }) as const;
  const first = body.indexOf("\n");
  const oldLine = first < 0 ? body : body.slice(0, first);
  const old = /^old (0|[1-9][0-9]{0,15})$/.exec(oldLine);
  if (first < 0 || old === null)
    return fail("body must start with 'old <size>' (decimal, no leading zeros) and a newline");
  const oldSize = Number(old[1]);
  if (!Number.isSafeInteger(oldSize)) return fail("old size is too large");
  const blank = body.indexOf("\n\n", first);
  // The proof ends at the first blank line; an empty proof puts it right after the old line.
  const proofEnd = body.startsWith("\n", first + 1) ? first : blank;
  if (proofEnd < 0) return fail("no blank line between the proof and the checkpoint");
  const proofText = body.slice(first + 1, proofEnd + 1);
  const lines = proofText.length === 0 ? [] : proofText.slice(0, -1).split("\n");
  if (lines.length > MAX_PROOF_LINES) return fail(`more than ${MAX_PROOF_LINES} proof lines`);
  const proof: Uint8Array[] = [];
  for (const [i, line] of lines.entries()) {
    const hash = fromBase64(line);
    if (hash?.length !== 32) return fail(`proof line ${i + 1} is not standard base64 of a 32-byte hash`);
    proof.push(hash);
  }
  const note = body.slice(proofEnd + 2);
  if (note.length === 0) return fail("no checkpoint after the blank line");
  return { ok: true, request: { oldSize, proof, note } };
}

/** Formats an add-checkpoint body (the vault's side of the protocol). */
export function formatAddCheckpoint(oldSize: number, proof: readonly string[], note: string): string {
  return `old ${oldSize}\n${proof.map((p) => `${p}\n`).join("")}\n${note}`;
}

/**
 * Reads at most `max` bytes of a request body as UTF-8: "too large" if it is longer (whatever the
 * Content-Length says, so a chunked flood cannot grow memory without bound), "not utf-8" if it
 * does not decode.
 */
export async function readBoundedText(request: Request, max: number): Promise<string | "too large" | "not utf-8"> {
  const declared = request.headers.get("content-length");
  if (declared !== null && !(Number(declared) <= max)) return "too large";
  const bytes = await readBounded(request, max);
  if (bytes === null) return "too large";
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return "not utf-8";
  }
}
