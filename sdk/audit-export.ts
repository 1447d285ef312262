/**
 * The audit export format (JSON Lines, `ghostvault-audit-export/v1`, written by
 * durable-objects/audit/query.ts `exportAuditPage`): a header line, then one line per entry, each
 * signed checkpoint right after the entry it covers.
 *
 * These schemas describe what the Durable Object writes with JSON.stringify; they belong beside
 * the other API schemas in worker/contract/schemas/audit.ts and should move there.
 */

import { z } from "zod";

/** First line: which log this is, the key that signs it, and where the range starts. */
export const AuditExportHeaderSchema = z.object({
  kind: z.literal("header"),
  format: z.literal("ghostvault-audit-export/v1"),
  tenant: z.string(),
  origin: z.string(),
  key_name: z.string(),
  verifier_key: z.string(),
  from_seq: z.number().int().min(1),
  /** Hash the first exported entry points at (the genesis hash when from_seq is 1); null if unknown. */
  start_prev_hash: z.string().nullable(),
  /** Last seq asked for, or null for an export to the head (absent in older exports). */
  to_seq: z.number().int().nullable().optional(),
  /**
   * Base64 hashes of the complete Merkle subtrees covering entries 1..from_seq-1, largest first,
   * so a window's Merkle checkpoints can be checked (null from seq 1; absent in older exports).
   */
  start_subtrees: z.array(z.string()).nullable().optional(),
  /** Log size at the tenant's Merkle cut-over (informational; absent in older exports). */
  merkle_cutover: z.number().int().nullable().optional(),
});

/** One chain entry and the hash stored beside it. */
export const AuditExportEntrySchema = z.object({
  kind: z.literal("entry"),
  seq: z.number().int(),
  hash: z.string(),
  entry: z.record(z.string(), z.unknown()),
});

/** A parsed entry line. */
export type AuditExportEntry = z.output<typeof AuditExportEntrySchema>;

/** A signed checkpoint (C2SP signed note) covering entries 1..size. */
export const AuditExportCheckpointSchema = z.object({
  kind: z.literal("checkpoint"),
  size: z.number().int(),
  note: z.string(),
});

/** Any line of an export. */
export const AuditExportLineSchema = z.discriminatedUnion("kind", [
  AuditExportHeaderSchema,
  AuditExportEntrySchema,
  AuditExportCheckpointSchema,
]);

/** The export's header line. */
export type AuditExportHeader = z.output<typeof AuditExportHeaderSchema>;
/** A parsed export line. */
export type AuditExportLine = z.output<typeof AuditExportLineSchema>;

/** An export as one string, or as its lines in order (an item may also hold several lines). */
export type TextSource = AsyncIterable<string> | Iterable<string> | string;

function* linesOfText(text: string): Generator<string, void, undefined> {
  // Most items are one line already (exportLines yields lines): no split, no copies.
  if (!text.includes("\n")) {
    if (/\S/.test(text)) yield text.endsWith("\r") ? text.slice(0, -1) : text;
    return;
  }
  for (const line of text.split("\n")) if (line.trim() !== "") yield line.replace(/\r$/, "");
}

/** The lines of a {@link TextSource}, without newlines; empty lines skipped. Items are never joined. */
export async function* sourceLines(source: TextSource): AsyncGenerator<string, void, undefined> {
  if (typeof source === "string") return yield* linesOfText(source);
  for await (const item of source) yield* linesOfText(item);
}

/**
 * Reassembles lines from text chunks cut anywhere (a byte stream decoded to text, a file read
 * with an encoding): use it to feed such a stream to `verifyAuditExport`.
 */
export async function* splitLines(
  chunks: AsyncIterable<string> | Iterable<string>,
): AsyncGenerator<string, void, undefined> {
  let partial = "";
  for await (const chunk of chunks) {
    const parts = (partial + chunk).split("\n");
    partial = parts.pop() ?? "";
    for (const line of parts) if (line.trim() !== "") yield line.replace(/\r$/, "");
  }
  if (partial.trim() !== "") yield partial.replace(/\r$/, "");
}

/** Decodes a byte stream (a fetch Response body) as UTF-8 text chunks; works where streams are not async-iterable. */
export async function* decodeStream(body: ReadableStream<Uint8Array>): AsyncGenerator<string, void, undefined> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      yield decoder.decode(value, { stream: true });
    }
    const rest = decoder.decode();
    if (rest !== "") yield rest;
  } finally {
    reader.releaseLock();
  }
}
