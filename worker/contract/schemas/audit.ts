import { z } from "zod";
import { CredentialIdSchema, IdentitySchema, TimestampSchema } from "./common";

const seq = z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

/** GET /v1/audit query: filter by seq range, time window, type, identity, credential. */
export const AuditQuerySchema = z.strictObject({
  from_seq: seq.optional(),
  to_seq: seq.optional(),
  since: TimestampSchema.optional(),
  until: TimestampSchema.optional(),
  type: z
    .string()
    .regex(/^[a-z][a-z0-9_.]*$/, "must be an event type like lease.created")
    .optional(),
  identity: z.string().min(1).max(256).optional(),
  credential: CredentialIdSchema.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

/** One stored entry as the API shows it: the entry and the hash stored beside it. */
export const AuditRecordSchema = z.object({
  seq: z.number().int(),
  hash: z.string(),
  entry: z.record(z.string(), z.unknown()),
});

/** A page of entries; `next_from_seq` continues the same query. */
export const AuditPageSchema = z.object({
  items: z.array(AuditRecordSchema),
  next_from_seq: z.number().int().nullable(),
});

/** GET /v1/audit/verify and /export query: a seq range (default: the whole chain). */
export const AuditRangeSchema = z.strictObject({ from_seq: seq.optional(), to_seq: seq.optional() });

/** A query flag: only the literal strings "true" and "false", so a typo is a 400, not a silent false. */
const flag = z.enum(["true", "false"]).transform((v) => v === "true");

/**
 * GET /v1/audit/verify query: a seq range, and whether entries after the last signed checkpoint
 * may pass (default: no, verify fails unless every entry in the range is signed for).
 */
export const AuditVerifyQuerySchema = AuditRangeSchema.extend({ allow_unsigned_tail: flag.optional() });

/** GET /v1/audit/checkpoints query: a size range, and `fresh=true` to have the head signed now (rate-bounded). */
export const CheckpointQuerySchema = AuditRangeSchema.extend({ fresh: flag.optional() });

/** When witnesses are configured: their cosignatures on the checkpoint covering the verified range. */
const WitnessStatusSchema = z.object({
  configured: z.number().int(),
  checkpoint: z.number().int().nullable(),
  cosigned_by: z.array(z.string()),
});

/**
 * The answer to verify: ok with what was checked, or the first bad seq and why. `signed_through`
 * is the largest verified checkpoint size; `unsigned_tail` counts entries of the range after it;
 * `merkle_cutover` is the log size at the tenant's first Merkle checkpoint (null before it);
 * `witnesses` (only when the vault has witnesses configured) who cosigned the covering checkpoint.
 */
export const AuditVerifySchema = z.union([
  z.object({
    ok: z.literal(true),
    from_seq: z.number().int(),
    to_seq: z.number().int(),
    checked: z.number().int(),
    checkpoints: z.number().int(),
    head: z.string().nullable(),
    signed_through: z.number().int(),
    unsigned_tail: z.number().int(),
    merkle_cutover: z.number().int().nullable().optional(),
    witnesses: WitnessStatusSchema.optional(),
  }),
  z.object({
    ok: z.literal(false),
    seq: z.number().int(),
    reason: z.string(),
    unsigned_tail: z.number().int().optional(),
  }),
]);

/** GET /v1/audit/checkpoints */
export const CheckpointListSchema = z.object({
  items: z.array(z.object({ size: z.number().int(), created_at: TimestampSchema, note: z.string() })),
});

const base64Hash = z.string().regex(/^[A-Za-z0-9+/]{43}=$/, "expected a base64 SHA-256 hash");

/** The signed Merkle checkpoint of the proof's (new) tree size, when the vault has one stored. */
const proofCheckpoint = z.string().nullable().optional();

/** GET /v1/audit/proof/inclusion query: the entry, and the tree size to prove it in (default: the whole tree). */
export const InclusionProofQuerySchema = z.strictObject({ seq, size: seq.optional() });

/**
 * An RFC 6962 inclusion proof: entry `seq` (leaf `seq - 1`, leaf hash SHA-256(0x00 ‖ entry bytes))
 * is in the tree of `size` entries whose root is `root`. Hashes are standard base64.
 */
export const InclusionProofSchema = z.object({
  seq: z.number().int(),
  size: z.number().int(),
  leaf_hash: base64Hash,
  root: base64Hash,
  proof: z.array(base64Hash),
  checkpoint: proofCheckpoint,
});

/** GET /v1/audit/proof/consistency query: old size (0 allowed) and new size (default: the whole tree). */
export const ConsistencyProofQuerySchema = z.strictObject({
  old: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  new: seq.optional(),
});

/** An RFC 6962 consistency proof: the tree of `old` entries (root `old_root`) is a prefix of the tree of `new` (root `new_root`). */
export const ConsistencyProofSchema = z.object({
  old: z.number().int(),
  new: z.number().int(),
  old_root: base64Hash,
  new_root: base64Hash,
  proof: z.array(base64Hash),
  checkpoint: proofCheckpoint,
});

/**
 * GET /v1/audit/public-key: what an auditor needs to verify checkpoints offline. `verifier_key`
 * is the key under its Merkle-checkpoint name (`<host>/audit/v2`); `legacy_verifier_key` the same
 * key under the name of the hash-chain checkpoints signed before the cut-over. Either one lets the
 * SDK and CLI check both formats.
 */
export const AuditPublicKeySchema = z.object({
  key_name: z.string(),
  public_key: z.string(),
  verifier_key: z.string(),
  legacy_key_name: z.string().optional(),
  legacy_verifier_key: z.string().optional(),
  algorithm: z.literal("ed25519"),
});

/** GET /v1/incident/impact query. */
export const ImpactQuerySchema = z
  .strictObject({ from: TimestampSchema, to: TimestampSchema })
  .refine((q) => Date.parse(q.from) <= Date.parse(q.to), "from must not be after to");

/** The incident impact report. */
export const ImpactReportSchema = z.object({
  from: TimestampSchema,
  to: TimestampSchema,
  truncated: z.boolean(),
  credentials: z.array(
    z.object({
      credential_id: z.string(),
      credential_name: z.string(),
      identities: z.array(IdentitySchema),
      leases: z.array(z.record(z.string(), z.unknown())),
    }),
  ),
});

/** One page of an export, as the Worker streams it. */
export interface ExportPage {
  lines: string[];
  next_after: number | null;
}

export type AuditQuery = z.output<typeof AuditQuerySchema>;
export type AuditRange = z.output<typeof AuditRangeSchema>;
export type AuditVerifyQuery = z.output<typeof AuditVerifyQuerySchema>;
export type CheckpointQuery = z.output<typeof CheckpointQuerySchema>;
export type InclusionProofQuery = z.output<typeof InclusionProofQuerySchema>;
export type InclusionProof = z.output<typeof InclusionProofSchema>;
export type ConsistencyProofQuery = z.output<typeof ConsistencyProofQuerySchema>;
export type ConsistencyProof = z.output<typeof ConsistencyProofSchema>;
export type AuditPage = z.output<typeof AuditPageSchema>;
export type AuditVerify = z.output<typeof AuditVerifySchema>;
