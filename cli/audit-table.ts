/**
 * Audit entries as people read them: one row per entry with the time, the event type, who acted,
 * the credential concerned and a short description, instead of the raw actor/target JSON
 * (docs/audit-events.md describes the fields). Everything here is server data: the table
 * printer escapes it (output.ts).
 */

import type { AuditPage } from "../sdk/index";
import { printTable, seconds, when, type Cell } from "./output";

type AuditRecord = AuditPage["items"][number];
type Json = Record<string, unknown>;

function object(value: unknown): Json {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Json) : {};
}

function text(value: unknown): string | undefined {
  if (typeof value === "string" && value !== "") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return undefined;
}

/** The credential an entry is about: its name when the details carry one, else the target's id. */
export function credentialOf(entry: Json): string | undefined {
  const details = object(entry.details);
  const target = object(entry.target);
  const name =
    text(details.credential_name) ??
    (target.kind === "credential" ? text(details.name) : undefined) ??
    text(details.credential);
  if (name !== undefined) return target.version === undefined ? name : `${name} v${String(target.version)}`;
  return target.kind === "credential" ? text(target.id) : undefined;
}

/** Detail keys worth a glance, in the order they are shown; durations in seconds are shortened. */
const SUMMARY_KEYS = [
  "reason",
  "code",
  "operation",
  "lease_id",
  "ttl",
  "purpose",
  "role",
  "identity",
  "holder",
  "revoked",
  "break_glass",
] as const;

/** A short description: the most telling details as `key=value`, the target when nothing else. */
export function summaryOf(entry: Json): string {
  const details = object(entry.details);
  const parts: string[] = [];
  for (const key of SUMMARY_KEYS) {
    const value = key === "ttl" && typeof details.ttl === "number" ? seconds(details.ttl) : text(details[key]);
    if (value !== undefined) parts.push(`${key}=${value}`);
  }
  const agent = text(object(object(entry.actor).agent).name);
  if (agent !== undefined) parts.push(`agent=${agent}`);
  if (parts.length === 0) {
    const target = object(entry.target);
    const kind = text(target.kind);
    if (kind !== undefined && kind !== "credential") parts.push(`${kind} ${text(target.id) ?? ""}`.trim());
  }
  return parts.join(" ");
}

/** The table row of one record. */
export function auditRow(record: AuditRecord): Cell[] {
  const entry = object(record.entry);
  return [
    record.seq,
    when(text(entry.ts)),
    text(entry.type),
    text(object(entry.actor).identity),
    text(entry.outcome),
    credentialOf(entry),
    summaryOf(entry),
  ];
}

/** Prints audit records as a table (or "no entries" on stderr). */
export function printAuditRecords(items: readonly AuditRecord[]): void {
  printTable(["seq", "time", "type", "identity", "outcome", "credential", "detail"], items.map(auditRow), "no entries");
}
