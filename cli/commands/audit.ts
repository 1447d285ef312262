import { createWriteStream } from "node:fs";
import type { Writable } from "node:stream";
import { finished } from "node:stream/promises";
import type { Command } from "commander";
import {
  verifyConsistencyProof,
  verifyInclusionProof,
  verifyProofCheckpoint,
  type ConsistencyProof,
  type InclusionProof,
  type AuditPage,
} from "../../sdk/node";
import { canonicalize, type JsonValue } from "../../worker/core/audit/canonical-json";
import { action, CliError, nonNegativeInt, positiveInt, vaultClient, withJson, type JsonOption } from "../context";
import { headSeq } from "./audit-seq";
import { registerAuditHead } from "./audit-head";
import { registerAuditVerify } from "./audit-verify";
import { printAuditRecords } from "../audit-table";
import { note, printExportLine, printFields, printJson, printJsonLine, printLine } from "../output";

type AuditRecord = AuditPage["items"][number];

/** `audit tail|query|verify|export|public-key`. */
export function registerAudit(program: Command): void {
  const audit = program.command("audit").description("the audit log: tail, query, verify (online or offline), export");

  withJson(
    audit
      .command("tail")
      .description("the newest entries; --follow keeps printing new ones")
      .option("-n, --lines <n>", "how many", positiveInt, 20)
      .option("-f, --follow", "poll for new entries until interrupted")
      .option("--interval <seconds>", "poll interval with --follow", positiveInt, 2),
  ).action(
    action(async (options: JsonOption & { lines: number; follow?: boolean; interval: number }) => {
      const vault = await vaultClient();
      const head = await headSeq(vault);
      let next = Math.max(1, head - options.lines + 1);
      const show = (items: AuditRecord[]) =>
        options.json ? items.forEach((r) => printJsonLine(r)) : printAuditRecords(items);
      for (;;) {
        const page = await vault.audit.query({ from_seq: next, limit: 1000 });
        if (page.items.length > 0) {
          show(page.items);
          next = page.items[page.items.length - 1]!.seq + 1;
        }
        if (page.next_from_seq !== null) continue;
        if (!options.follow) return;
        await new Promise((r) => setTimeout(r, options.interval * 1000));
      }
    }),
  );

  withJson(
    audit
      .command("query")
      .description("entries matching filters, oldest first")
      .option("--type <type>", "event type, e.g. lease.created")
      .option("--identity <identity>", "actor identity")
      .option("--credential <id>", "credential id (cred_...)")
      .option("--since <time>", "ISO 8601 start")
      .option("--until <time>", "ISO 8601 end")
      .option("--from-seq <n>", "first seq", positiveInt)
      .option("--to-seq <n>", "last seq", positiveInt)
      .option("--limit <n>", "page size (1-1000)", positiveInt),
  ).action(
    action(
      async (
        options: JsonOption & {
          type?: string;
          identity?: string;
          credential?: string;
          since?: string;
          until?: string;
          fromSeq?: number;
          toSeq?: number;
          limit?: number;
        },
      ) => {
        const page = await (await vaultClient()).audit.query({
          type: options.type,
          identity: options.identity,
          credential: options.credential,
          since: options.since,
          until: options.until,
          from_seq: options.fromSeq,
          to_seq: options.toSeq,
          limit: options.limit,
        });
        if (options.json) return printJson(page);
        printAuditRecords(page.items);
        if (page.next_from_seq !== null) note(`more: --from-seq ${page.next_from_seq}`);
      },
    ),
  );

  registerAuditVerify(audit);
  registerAuditHead(audit);

  withJson(
    audit
      .command("prove")
      .description(
        "fetch an RFC 6962 proof from the audit Merkle tree and check it here: --seq (inclusion) or --old (consistency)",
      )
      .option("--seq <n>", "inclusion: the entry to prove", positiveInt)
      .option("--old <n>", "consistency: the older tree size", nonNegativeInt)
      .option("--size <n>", "the tree size to prove against (default: the whole tree)", positiveInt)
      .option(
        "--public-key <vkey>",
        "also check the proof's root against the vault's signed Merkle checkpoint of that size (or GHOSTVAULT_AUDIT_KEY)",
      ),
  ).action(
    action(async (options: JsonOption & { seq?: number; old?: number; size?: number; publicKey?: string }) => {
      if ((options.seq === undefined) === (options.old === undefined))
        throw new CliError("give exactly one of --seq (inclusion) or --old (consistency)", 2);
      const vault = await vaultClient();
      // With a key, the root must be the one the vault signed for that size, not only self-consistent.
      const key = options.publicKey ?? (process.env.GHOSTVAULT_AUDIT_KEY || undefined);
      const signed = async (proof: InclusionProof | ConsistencyProof) => {
        if (key === undefined) return;
        const bound = await verifyProofCheckpoint(proof, key);
        if (!bound.ok)
          throw new CliError(`the proof's root is not vouched for by a signed checkpoint: ${bound.reason}`);
      };
      if (options.seq !== undefined) {
        const proof = await vault.audit.inclusionProof({ seq: options.seq, size: options.size });
        // Check the leaf against the entry itself, not only the path to the root.
        const entry = (await vault.audit.query({ from_seq: options.seq, to_seq: options.seq, limit: 1 })).items[0];
        const ok = entry !== undefined && (await verifyInclusionProof(proof, canonicalize(entry.entry as JsonValue)));
        if (ok) await signed(proof);
        if (options.json) printJson({ ok, ...proof });
        else if (ok)
          printFields([
            ["ok", `entry ${proof.seq} is in the tree of ${proof.size}`],
            ["root", proof.root],
          ]);
        if (!ok) throw new CliError(`the inclusion proof of entry ${options.seq} does not verify`);
        return;
      }
      const proof = await vault.audit.consistencyProof({ old: options.old!, new: options.size });
      const ok = await verifyConsistencyProof(proof);
      if (ok) await signed(proof);
      if (options.json) printJson({ ok, ...proof });
      else if (ok)
        printFields([
          ["ok", `the tree of ${proof.old} is a prefix of the tree of ${proof.new}`],
          ["old root", proof.old_root],
          ["new root", proof.new_root],
        ]);
      if (!ok) throw new CliError(`the consistency proof from ${proof.old} to ${proof.new} does not verify`);
    }),
  );

  audit
    .command("export")
    .description("write the log as JSON Lines (header, entries, checkpoints) to a file or stdout")
    .option("-o, --output <path>", "file to write (default: stdout)")
    .option("--from-seq <n>", "first seq", positiveInt)
    .option("--to-seq <n>", "last seq", positiveInt)
    .option("--json", "accepted for symmetry: the export is JSON Lines already")
    .action(
      action(async (options: { output?: string; fromSeq?: number; toSeq?: number }) => {
        const vault = await vaultClient();
        const out: Writable =
          options.output === undefined ? process.stdout : createWriteStream(options.output, { mode: 0o600 });
        let lines = 0;
        for await (const line of vault.audit.exportLines({ from_seq: options.fromSeq, to_seq: options.toSeq })) {
          if (!printExportLine(line, out)) await new Promise<void>((r) => out.once("drain", () => r()));
          lines++;
        }
        if (out !== process.stdout) {
          out.end();
          await finished(out);
          note(`wrote ${lines} lines to ${options.output}`);
        }
      }),
    );

  withJson(
    audit.command("public-key").description("the Ed25519 key that signs checkpoints (for offline verify)"),
  ).action(
    action(async (options: JsonOption) => {
      const key = await (await vaultClient()).audit.publicKey();
      if (options.json) return printJson(key);
      printLine(key.verifier_key);
    }),
  );
}
