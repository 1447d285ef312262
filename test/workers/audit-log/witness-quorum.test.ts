import { expect, it } from "vitest";
import { MemoryCheckpointMemory } from "../../../sdk/audit-memory";
import { verifyAuditExport } from "../../../sdk/audit-verify";
import { cosignerVerifierKey, createCosigner } from "../../../worker/core/audit/cosignature";
import { TEST_WITNESS, TEST_WITNESS_VKEY } from "../../witness-env";
import { api, expectStatus } from "../helpers";
import { smallChain, verify } from "./helpers";

/**
 * End to end with the test witness (an auxiliary Worker, test/witness-env.ts): the vault's export
 * ends with a checkpoint the witness cosigned, so a customer requiring that witness verifies it;
 * one requiring a witness that never saw the log does not. `/v1/audit/verify` reports who
 * cosigned the checkpoint covering the range.
 */

async function exportLines(token: string): Promise<string[]> {
  return (await (await api(token, "GET", "/v1/audit/export")).text()).trim().split("\n");
}

it("an export verifies with the configured witness's quorum; with an unknown witness required it fails", async () => {
  const { tenantId, adminToken } = await smallChain(3);
  const { verifier_key } = await expectStatus<{ verifier_key: string }>(
    await api(null, "GET", "/v1/audit/public-key"),
    200,
  );
  const lines = await exportLines(adminToken);
  const witnessed = {
    witnesses: { keys: [TEST_WITNESS_VKEY], quorum: 1 },
    tenant: tenantId,
    memory: new MemoryCheckpointMemory(),
  };
  const ok = await verifyAuditExport(lines, verifier_key, witnessed);
  expect(ok).toMatchObject({ ok: true, unsignedTail: 0, cosignedBy: [TEST_WITNESS.name] });
  expect((ok as { witnessedThrough: number }).witnessedThrough).toBe((ok as { toSeq: number }).toSeq);
  // Denial beside it: a witness the vault never submitted to.
  const other = await createCosigner("77".repeat(32), "witness.test/other");
  const otherKey = await cosignerVerifierKey(other.name, other.publicKey);
  expect(await verifyAuditExport(lines, verifier_key, { witnesses: { keys: [otherKey], quorum: 1 } })).toMatchObject({
    ok: false,
    reason: expect.stringMatching(/0 of the 1 witness cosignatures/),
  });
  expect(
    await verifyAuditExport(lines, verifier_key, { witnesses: { keys: [TEST_WITNESS_VKEY, otherKey], quorum: 2 } }),
  ).toMatchObject({ ok: false });
});

it("/v1/audit/verify reports the configured witnesses' cosignatures on the covering checkpoint", async () => {
  const { adminToken } = await smallChain(3);
  await exportLines(adminToken); // signs (and has the witness cosign) the head
  const result = await verify(adminToken, "", { strict: true });
  expect(result).toMatchObject({ ok: true, witnesses: { configured: 1, cosigned_by: [TEST_WITNESS.name] } });
  const ok = result as unknown as { witnesses: { checkpoint: number }; signed_through: number };
  expect(ok.witnesses.checkpoint).toBe(ok.signed_through);
});
