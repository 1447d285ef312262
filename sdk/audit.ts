import {
  AuditPublicKeySchema,
  CheckpointListSchema,
  type ConsistencyProof,
  type ConsistencyProofQuery,
  type InclusionProof,
  type InclusionProofQuery,
  type AuditPage,
  type AuditQuery as AuditQueryOutput,
  type AuditRange,
  type AuditVerify,
  type AuditVerifyQuery,
  type CheckpointQuery,
} from "../worker/contract/schemas/audit";
import type { z } from "zod";
import { AuditExportLineSchema, decodeStream, splitLines, type AuditExportLine } from "./audit-export";
import { checkAuditHead, type AuditHeadCheck, type CheckAuditHeadOptions } from "./audit-monitor";
import type { AuditVerifierKey } from "./audit-verify";
import { VaultError } from "./errors";
import { opRequest, type CallOptions, type HttpClient } from "./http";

/** Filters of `audit.query`: seq range, time window, type, identity, credential id, page size. */
export type AuditQuery = Partial<AuditQueryOutput>;
/** Signed checkpoints. */
export type CheckpointList = z.output<typeof CheckpointListSchema>;
/** The audit signing key, as `GET /v1/audit/public-key` publishes it. */
export type AuditPublicKey = z.output<typeof AuditPublicKeySchema>;

/** The audit log: query, verify, checkpoints, export and the public key (read-only; nothing edits it). */
export class AuditApi {
  readonly #http: HttpClient;

  /** Used by {@link VaultClient}; not meant to be built directly. */
  constructor(http: HttpClient) {
    this.#http = http;
  }

  /** One page of entries, oldest first; pass `next_from_seq` back as `from_seq` for the next. */
  query(query: AuditQuery = {}, options: CallOptions = {}): Promise<AuditPage> {
    return this.#http.op("audit.query", { query }, options);
  }

  /**
   * Has the server recompute the chain over a range and check its signed checkpoints. Strict:
   * `ok: false` unless every entry is covered by a checkpoint, unless `allow_unsigned_tail`.
   */
  verify(range: Partial<AuditVerifyQuery> = {}, options: CallOptions = {}): Promise<AuditVerify> {
    return this.#http.op("audit.verify", { query: range }, options);
  }

  /** Signed checkpoints whose size falls in the range; `fresh: true` has the current head signed first. */
  checkpoints(range: Partial<CheckpointQuery> = {}, options: CallOptions = {}): Promise<CheckpointList> {
    return this.#http.op("audit.checkpoints", { query: range }, options);
  }

  /** RFC 6962 inclusion proof of entry `seq` in the tree of `size` entries (default: all); check it with `verifyInclusionProof`. */
  inclusionProof(
    query: Pick<InclusionProofQuery, "seq"> & Partial<InclusionProofQuery>,
    options: CallOptions = {},
  ): Promise<InclusionProof> {
    return this.#http.op("audit.inclusion_proof", { query }, options);
  }

  /** RFC 6962 consistency proof from size `old` to `new` (default: all); check it with `verifyConsistencyProof`. */
  consistencyProof(
    query: Pick<ConsistencyProofQuery, "old"> & Partial<ConsistencyProofQuery>,
    options: CallOptions = {},
  ): Promise<ConsistencyProof> {
    return this.#http.op("audit.consistency_proof", { query }, options);
  }

  /**
   * The export as raw JSON Lines, streamed: what `verifyAuditExport` checks and what to store.
   * The request is sent when iteration starts; a refused token fails the first `next()`.
   */
  async *exportLines(
    range: Partial<AuditRange> = {},
    options: CallOptions = {},
  ): AsyncGenerator<string, void, undefined> {
    const res = await this.#http.stream(opRequest("audit.export", { query: range }, options));
    if (res.body === null) return;
    yield* splitLines(decodeStream(res.body));
  }

  /** The export, each line parsed and checked for shape (not for integrity: see `verifyAuditExport`). */
  async *export(
    range: Partial<AuditRange> = {},
    options: CallOptions = {},
  ): AsyncGenerator<AuditExportLine, void, undefined> {
    for await (const line of this.exportLines(range, options)) {
      let json: unknown;
      try {
        json = JSON.parse(line);
      } catch (cause) {
        throw new VaultError("invalid_response", "audit export: a line is not JSON", { status: 200, cause });
      }
      const parsed = AuditExportLineSchema.safeParse(json);
      if (!parsed.success)
        throw new VaultError("invalid_response", "audit export: a line has an unknown shape", { status: 200 });
      yield parsed.data;
    }
  }

  /**
   * Online fork detection: checks the newest signed Merkle checkpoint with `key` (and a witness
   * quorum) and proves it extends the one `memory` remembers, then remembers it. Two small
   * requests instead of an export. The tenant is read from the client's own token.
   * @throws AuditForkError on a rollback, another root at a remembered size, or no valid proof.
   */
  checkHead(key: AuditVerifierKey, options: Omit<CheckAuditHeadOptions, "tenant"> = {}): Promise<AuditHeadCheck> {
    const tenant = this.#http.tenant;
    if (tenant === undefined) throw new TypeError("checkHead needs a client with a tenant token (gv_api_ or gv_ses_)");
    return checkAuditHead(this, key, { ...options, tenant });
  }

  /** The Ed25519 key that signs checkpoints (public; no token needed). */
  publicKey(options: CallOptions = {}): Promise<AuditPublicKey> {
    return this.#http.op("audit.public_key", {}, options);
  }
}
