import { createReadStream } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Command } from "commander";
import { z } from "zod";
import {
  AuditForkError,
  checkWitnesses,
  FileCheckpointMemory,
  parseWitnessPolicy,
  splitLines,
  verifyAuditExport,
  type AuditExportVerification,
  type VaultClient,
  type WitnessPolicy,
} from "../../sdk/node";
import { auditLogVerifiers } from "../../worker/core/audit/log-checkpoint";
import { configDir } from "../config";
import { action, CliError, collect, positiveInt, vaultClient, withJson, type JsonOption } from "../context";
import { printFields, printJson } from "../output";
import { windowSeqs } from "./audit-seq";

/**
 * `ghostvault audit verify`: on the server, offline on an export file (`--file`), or over a time
 * window (`--from T --to T`), the incident runbook's "audit-chain integrity check across the
 * affected window": the window's entries are exported up to a checkpoint that covers them and
 * verified here, with the caller's key and, if given, a witness quorum.
 *
 * Trust comes from the caller, never from the vault or the file: the signing key from
 * `--public-key`, GHOSTVAULT_AUDIT_KEY or `audit-trust.json` in the config directory, witness keys
 * and quorum from `--witness-key`/`--witness-quorum` or the same file.
 */

/** `<config dir>/audit-trust.json`: the keys this machine trusts for audit verification. */
const TrustFileSchema = z.strictObject({
  public_key: z.string().min(1).optional(),
  witness_keys: z.array(z.string().min(1)).optional(),
  witness_quorum: z.number().int().min(1).optional(),
});

type VerifyOptions = JsonOption & {
  file?: string;
  publicKey?: string;
  tenant?: string;
  allowUnsignedTail?: boolean;
  fromSeq?: number;
  toSeq?: number;
  from?: string;
  to?: string;
  witnessKey: string[];
  witnessQuorum?: number;
};

async function readTrustFile(): Promise<z.output<typeof TrustFileSchema>> {
  const file = path.join(configDir(), "audit-trust.json");
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CliError(`${file} is not JSON`, 2);
  }
  const parsed = TrustFileSchema.safeParse(json);
  if (!parsed.success) throw new CliError(`${file}: ${z.prettifyError(parsed.error)}`, 2);
  return parsed.data;
}

/** The signing key and witness policy: flags first, then environment, then the trust file. */
export async function trust(
  options: Pick<VerifyOptions, "publicKey" | "witnessKey" | "witnessQuorum">,
): Promise<{ publicKey: string | undefined; witnesses: WitnessPolicy | undefined }> {
  const file = await readTrustFile();
  const publicKey = options.publicKey ?? (process.env.GHOSTVAULT_AUDIT_KEY || undefined) ?? file.public_key;
  const keys = options.witnessKey.length > 0 ? options.witnessKey : (file.witness_keys ?? []);
  const quorum = options.witnessQuorum ?? (options.witnessKey.length > 0 ? undefined : file.witness_quorum);
  if (keys.length === 0) {
    if (quorum !== undefined) throw new CliError("--witness-quorum needs at least one --witness-key", 2);
    return { publicKey, witnesses: undefined };
  }
  // Default quorum: every witness given must have cosigned.
  const witnesses = { keys, quorum: quorum ?? keys.length };
  const parsed = await parseWitnessPolicy(witnesses);
  if (typeof parsed === "string") throw new CliError(parsed, 2);
  return { publicKey, witnesses };
}

export function requireKey(publicKey: string | undefined, what: string): string {
  if (publicKey === undefined)
    throw new CliError(
      `${what} needs --public-key (or GHOSTVAULT_AUDIT_KEY, or public_key in audit-trust.json): it trusts only the key you give, never the one the vault or the file shows`,
      2,
    );
  return publicKey;
}

/** Where the CLI remembers the newest verified checkpoint of each log (shared with `audit check-head`). */
export function checkpointMemoryFile(): string {
  return path.join(configDir(), "audit-checkpoints.json");
}

/** Runs the offline verifier with the remembered checkpoints; a fork or rollback is exit code 3. */
async function verifyLines(
  lines: AsyncIterable<string>,
  publicKey: string,
  options: { tenant?: string; allowUnsignedTail: boolean; witnesses?: WitnessPolicy },
): Promise<AuditExportVerification> {
  // The newest checkpoint verified before is remembered per log origin under the config
  // directory; an export that contradicts it is a fork or rollback: exit code 3.
  const memoryFile = checkpointMemoryFile();
  try {
    return await verifyAuditExport(lines, publicKey, { ...options, memory: new FileCheckpointMemory(memoryFile) });
  } catch (error) {
    if (error instanceof AuditForkError)
      throw new CliError(`${error.message}; the remembered note is in ${memoryFile}`, 3);
    throw error;
  }
}

function offlineFields(result: Extract<AuditExportVerification, { ok: true }>): [string, string | number][] {
  const fields: [string, string | number][] = [
    ["tenant", result.tenant],
    ["entries", `${result.entries} (seq ${result.fromSeq}-${result.toSeq})`],
    ["checkpoints", result.checkpoints],
    ["signed through", result.signedThrough],
    ["unsigned tail", result.unsignedTail],
  ];
  if (result.witnessedThrough !== undefined)
    fields.push(["witnessed through", result.witnessedThrough], ["cosigned by", result.cosignedBy!.join(", ")]);
  return [...fields, ["head", result.head]];
}

/**
 * The smallest checkpoint at or after `seq` cosigned by the quorum (a candidate: the export's
 * verification checks it again in full), or `seq` itself without witnesses: the export then ends
 * with a checkpoint the vault signs at `seq`.
 */
async function coveringSize(
  vault: VaultClient,
  seq: number,
  publicKey: string,
  witnesses: WitnessPolicy | undefined,
): Promise<{ size: number }> {
  if (witnesses === undefined) return { size: seq };
  const policy = await parseWitnessPolicy(witnesses);
  const verifiers = await auditLogVerifiers(publicKey);
  if (typeof policy === "string" || verifiers === null)
    throw new CliError(
      typeof policy === "string" ? policy : "the public key is not a valid Ed25519 signed-note key",
      2,
    );
  const { items } = await vault.audit.checkpoints({ from_seq: seq });
  for (const cp of items)
    if ((await checkWitnesses(cp.note, verifiers, undefined, policy)).ok) return { size: cp.size };
  throw new CliError(
    `no checkpoint at or after seq ${seq} is cosigned by ${policy.quorum} of the trusted witnesses yet (the vault submits new checkpoints to its witnesses after signing them; try again shortly)`,
  );
}

async function verifyWindow(
  options: VerifyOptions,
  publicKey: string,
  witnesses: WitnessPolicy | undefined,
): Promise<void> {
  const [from, to] = [options.from!, options.to!];
  if (Number.isNaN(Date.parse(from)) || Number.isNaN(Date.parse(to)))
    throw new CliError("--from and --to must be ISO 8601 times, e.g. 2026-12-01T09:00:00Z", 2);
  if (Date.parse(from) > Date.parse(to)) throw new CliError("--from must not be after --to", 2);
  const vault = await vaultClient();
  const window = await windowSeqs(
    vault,
    new Date(Date.parse(from)).toISOString(),
    new Date(Date.parse(to)).toISOString(),
  );
  if (window === null) {
    if (options.json) return printJson({ ok: true, from, to, entries: 0 });
    return printFields([
      ["ok", "yes (window)"],
      ["window", `${from} .. ${to}`],
      ["entries", "0 (none in the window)"],
    ]);
  }
  const cover = await coveringSize(vault, window.last, publicKey, witnesses);
  const lines = vault.audit.exportLines({ from_seq: window.first, to_seq: cover.size });
  const result = await verifyLines(lines, publicKey, { allowUnsignedTail: false, witnesses });
  if (options.json) printJson({ ...result, window: { from, to, first_seq: window.first, last_seq: window.last } });
  else if (result.ok)
    printFields([
      ["ok", "yes (window, verified here)"],
      ["window", `${from} .. ${to}: seq ${window.first}-${window.last}`],
      ["covered by", `checkpoint ${cover.size}`],
      ...offlineFields(result),
    ]);
  if (!result.ok)
    throw new CliError(`audit window ${from} .. ${to} does not verify at seq ${result.seq}: ${result.reason}`);
}

/** Registers `audit verify` on the `audit` command. */
export function registerAuditVerify(audit: Command): void {
  withJson(
    audit
      .command("verify")
      .description(
        "verify the chain and signed checkpoints: on the server, offline on an export file, or here over a time window; fails unless every entry is covered by a signed (and, with witness keys, witnessed) checkpoint",
      )
      .option("--file <path>", "an export (JSON Lines) to verify offline, without the server")
      .option("--from <time>", "verify the entries of a time window here (ISO 8601 start; with --to)")
      .option("--to <time>", "end of the window (ISO 8601)")
      .option(
        "--public-key <vkey>",
        "the signing key (C2SP verifier key, from `audit public-key`, or GHOSTVAULT_AUDIT_KEY, or audit-trust.json); required with --file and --from/--to",
      )
      .option(
        "--witness-key <vkey>",
        "a trusted witness's cosignature/v1 key (repeatable; or witness_keys in audit-trust.json)",
        collect,
        [],
      )
      .option(
        "--witness-quorum <k>",
        "how many of the witness keys must have cosigned the covering checkpoint (default: all)",
        positiveInt,
      )
      .option("--tenant <id>", "with --file: refuse an export of another tenant")
      .option("--allow-unsigned-tail", "accept entries after the last signed checkpoint (still reported)")
      .option("--from-seq <n>", "online: first seq", positiveInt)
      .option("--to-seq <n>", "online: last seq", positiveInt),
  ).action(
    action(async (options: VerifyOptions) => {
      const allowUnsignedTail = options.allowUnsignedTail === true;
      if ((options.from === undefined) !== (options.to === undefined))
        throw new CliError("give both --from and --to for a window", 2);
      const { publicKey, witnesses } = await trust(options);
      if (options.from !== undefined) {
        if (options.file !== undefined)
          throw new CliError(
            "--from/--to verify a window on the vault; --file verifies an export: give one of them",
            2,
          );
        return verifyWindow(options, requireKey(publicKey, "--from/--to"), witnesses);
      }
      if (options.file !== undefined) {
        const text = createReadStream(options.file, { encoding: "utf8" }) as AsyncIterable<string>;
        const result = await verifyLines(splitLines(text), requireKey(publicKey, "--file"), {
          tenant: options.tenant,
          allowUnsignedTail,
          witnesses,
        });
        if (options.json) printJson(result);
        else if (result.ok) printFields([["ok", "yes (offline)"], ...offlineFields(result)]);
        if (!result.ok) throw new CliError(`audit export does not verify at seq ${result.seq}: ${result.reason}`);
        return;
      }
      if (options.witnessKey.length > 0 || options.witnessQuorum !== undefined)
        throw new CliError(
          "--witness-key/--witness-quorum apply to --file or --from/--to, which verify here; the server's own verify reports its configured witnesses",
          2,
        );
      const result = await (await vaultClient()).audit.verify({
        from_seq: options.fromSeq,
        to_seq: options.toSeq,
        allow_unsigned_tail: allowUnsignedTail || undefined,
      });
      if (options.json) printJson(result);
      else if (result.ok)
        printFields([
          ["ok", "yes (server)"],
          ["entries", `${result.checked} (seq ${result.from_seq}-${result.to_seq})`],
          ["checkpoints", result.checkpoints],
          ["signed through", result.signed_through],
          ["unsigned tail", result.unsigned_tail],
          ["head", result.head],
        ]);
      if (!result.ok) throw new CliError(`audit chain does not verify at seq ${result.seq}: ${result.reason}`);
    }),
  );
}
