import { expect, it } from "vitest";
import { verifyConsistencyProof, verifyInclusionProof, verifyProofCheckpoint } from "../../../sdk/audit-proof";
import { toBase64 } from "../../../worker/core/audit/encoding";
import type { ConsistencyProof, InclusionProof } from "../../../worker/contract/schemas/audit";
import { api, expectStatus } from "../helpers";
import { auditRows, smallChain } from "./helpers";

/**
 * Proofs bound to signed Merkle checkpoints (issue 10 §2, after the cut-over): a proof answer
 * carries the stored checkpoint of its size, and the SDK checks that the vault's key signed that
 * size and root. Beside each refusal the genuine answer passes.
 */

const flip = (b64: string) => toBase64(Uint8Array.from(atob(b64), (c, i) => c.charCodeAt(0) ^ (i === 0 ? 1 : 0)));

it("inclusion and consistency proofs at a checkpointed size verify against its signature; an edited root, size or note does not", async () => {
  const { tenantId, adminToken } = await smallChain(4);
  const { verifier_key, legacy_verifier_key } = await expectStatus<{
    verifier_key: string;
    legacy_verifier_key: string;
  }>(await api(null, "GET", "/v1/audit/public-key"), 200);
  const { items } = await expectStatus<{ items: { size: number }[] }>(
    await api(adminToken, "GET", "/v1/audit/checkpoints?fresh=true"),
    200,
  );
  const size = items.at(-1)!.size;
  const rows = await auditRows(tenantId);
  const inclusion = await expectStatus<InclusionProof>(
    await api(adminToken, "GET", `/v1/audit/proof/inclusion?seq=3&size=${size}`),
    200,
  );
  const consistency = await expectStatus<ConsistencyProof>(
    await api(adminToken, "GET", `/v1/audit/proof/consistency?old=2&new=${size}`),
    200,
  );
  expect(await verifyInclusionProof(inclusion, rows[2]!.entry)).toBe(true);
  expect(await verifyConsistencyProof(consistency)).toBe(true);
  for (const key of [verifier_key, legacy_verifier_key]) {
    expect(await verifyProofCheckpoint(inclusion, key, tenantId)).toEqual({ ok: true, size });
    expect(await verifyProofCheckpoint(consistency, key)).toEqual({ ok: true, size });
  }
  // Refusals: a root the checkpoint does not sign, another size, another tenant, no checkpoint, an edited note.
  expect(await verifyProofCheckpoint({ ...inclusion, root: flip(inclusion.root) }, verifier_key)).toMatchObject({
    ok: false,
    reason: expect.stringMatching(/root/),
  });
  expect(await verifyProofCheckpoint({ ...inclusion, size: size - 1 }, verifier_key)).toMatchObject({
    ok: false,
    reason: expect.stringMatching(/size/),
  });
  expect(await verifyProofCheckpoint(inclusion, verifier_key, "another-tenant")).toMatchObject({
    ok: false,
    reason: expect.stringMatching(/origin/),
  });
  expect(await verifyProofCheckpoint({ ...consistency, checkpoint: null }, verifier_key)).toMatchObject({
    ok: false,
    reason: expect.stringMatching(/no signed checkpoint/),
  });
  expect(
    await verifyProofCheckpoint(
      { ...inclusion, checkpoint: inclusion.checkpoint!.replace(`\n${size}\n`, `\n${size + 1}\n`) },
      verifier_key,
    ),
  ).toMatchObject({ ok: false });
  // A size with no stored checkpoint answers checkpoint: null.
  const unsigned = await expectStatus<InclusionProof>(
    await api(adminToken, "GET", `/v1/audit/proof/inclusion?seq=1&size=2`),
    200,
  );
  expect(unsigned.checkpoint).toBeNull();
});
