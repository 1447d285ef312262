/**
 * A toy RFC 6962 log for the witness tests: leaves in memory, checkpoints signed with the test
 * log key the auxiliary witness trusts (test/witness-env.ts), requests sent to the witness Worker
 * through the TEST_WITNESS service binding. Each test uses its own origin, so witness state never
 * leaks between tests or files.
 */
import { createHash } from "node:crypto";
import { env } from "cloudflare:test";
import { signCheckpoint } from "../../../worker/core/audit/checkpoint";
import { parseCosignerKey, type CosignerKey } from "../../../worker/core/audit/cosignature";
import { toBase64, toHex } from "../../../worker/core/audit/encoding";
import {
  consistencyProof,
  leafHash,
  storedHashesForLeaf,
  treeHash,
  type MerkleHash,
} from "../../../worker/core/audit/merkle";
import { createSigner, type NoteSigner } from "../../../worker/core/audit/signed-note";
import { formatAddCheckpoint } from "../../../dev/witness/protocol";
import { TEST_WITNESS, TEST_WITNESS_VKEY } from "../../witness-env";

export const sha256 = (data: Uint8Array): MerkleHash => new Uint8Array(createHash("sha256").update(data).digest());

let counter = 0;

/** A fresh origin under the test log's prefix. */
export function freshOrigin(): string {
  return `${TEST_WITNESS.protocolLog.prefix}log-${Date.now().toString(36)}-${(counter++).toString(36)}`;
}

/** An in-memory Merkle log whose leaves are "<tag>/<i>". */
export class ToyLog {
  readonly #stored: MerkleHash[] = [];
  size = 0;
  constructor(
    readonly origin: string,
    readonly signer: NoteSigner,
    readonly tag = "leaf",
  ) {}

  static async create(
    origin = freshOrigin(),
    tag = "leaf",
    seed: string = TEST_WITNESS.protocolLog.seed,
    keyName: string = TEST_WITNESS.protocolLog.keyName,
  ): Promise<ToyLog> {
    return new ToyLog(origin, await createSigner(seed, keyName), tag);
  }

  readonly #read = (indexes: readonly number[]) => indexes.map((i) => this.#stored[i]!);

  /** Appends `n` leaves named `<tag>/<index>` (another tag makes a fork from this size on). */
  append(n: number, tag = this.tag): this {
    for (let i = 0; i < n; i++, this.size++) {
      const leaf = leafHash(sha256, new TextEncoder().encode(`${tag}/${this.size}`));
      this.#stored.push(...storedHashesForLeaf(sha256, this.size, leaf, this.#read));
    }
    return this;
  }

  root(size = this.size): MerkleHash {
    return treeHash(sha256, size, this.#read);
  }

  proof(from: number, to = this.size): string[] {
    return consistencyProof(sha256, to, from, this.#read).map(toBase64);
  }

  /** The signed checkpoint note of the first `size` leaves. */
  checkpoint(size = this.size): Promise<string> {
    return signCheckpoint(this.signer, { origin: this.origin, size, hash: toHex(this.root(size)) });
  }
}

/** POSTs a raw body to the witness's add-checkpoint. */
export function postWitness(
  body: string | Uint8Array,
  path = "/add-checkpoint",
  init: RequestInit = {},
): Promise<Response> {
  return env.TEST_WITNESS.fetch(new Request(`https://witness.test${path}`, { method: "POST", body, ...init }));
}

/** Submits checkpoint `size` of `log` with a proof from `old` (computed from the same log unless given). */
export async function submit(log: ToyLog, old: number, size = log.size, proof?: string[]): Promise<Response> {
  return postWitness(
    formatAddCheckpoint(old, proof ?? (old <= size ? log.proof(old, size) : []), await log.checkpoint(size)),
  );
}

/** The witness's verifier key, parsed. */
export async function witnessKey(): Promise<CosignerKey> {
  return (await parseCosignerKey(TEST_WITNESS_VKEY))!;
}
