import { expect, it } from "vitest";
import { verifyAuditExport } from "../../../sdk/audit-verify";
import { api, expectStatus } from "../helpers";
import { appendDirect, smallChain, withSql } from "./helpers";

/**
 * V8 as shipped in workerd misreads an escaped object key once it has parsed a key ending in a
 * backslash in the same place (docs/security-model.md "Platform"): after `{"!":…,"\\":…}`, the
 * text `{"!":…,"\"":…}` comes back with the key `\`. An offline verifier that parsed each export
 * line and canonicalised the entry again would report such an intact entry as edited, so whoever
 * could put those keys in the log could make it look forged. The verifier hashes the entry text
 * verbatim from the exporter's lines instead. These tests run it inside workerd, where the parser
 * is the faulty one. The API refuses such keys where callers name them (claim conditions,
 * test/workers/ci/claim-names.test.ts), so the entries are appended here as a log from before that.
 */

async function exportWithEscapedKeys() {
  const { tenantId, adminToken } = await smallChain(1);
  await withSql(tenantId, (sql, storage) => {
    for (const key of ["\\", '"'])
      appendDirect(sql, storage, tenantId, {
        type: "oidc.trust_created",
        identity: "user:admin@acme.test",
        details: { conditions: { "!": "acme", [key]: "acme" } },
      });
  });
  const lines = (await (await api(adminToken, "GET", "/v1/audit/export")).text()).trim().split("\n");
  const { verifier_key } = await expectStatus<{ verifier_key: string }>(
    await api(null, "GET", "/v1/audit/public-key"),
    200,
  );
  const quoted = lines.findIndex((l) => l.includes('"conditions":{"!":"acme","\\"":"acme"}'));
  expect(quoted).toBeGreaterThan(0); // the stored text carries the quote key as written
  return { tenantId, lines, verifier_key, quoted };
}

it("an export whose entries hold escaped keys verifies offline, in full and strictly", async () => {
  const { tenantId, lines, verifier_key } = await exportWithEscapedKeys();
  const entries = lines.filter((l) => l.startsWith('{"kind":"entry"')).length;
  expect(await verifyAuditExport(lines, verifier_key, { tenant: tenantId })).toMatchObject({
    ok: true,
    entries,
    unsignedTail: 0,
  });
});

it("denial beside it: that entry's verbatim text changed by one byte fails at its seq", async () => {
  const { tenantId, lines, verifier_key, quoted } = await exportWithEscapedKeys();
  const seq = (JSON.parse(lines[quoted]!) as { seq: number }).seq;
  const edited = [...lines];
  edited[quoted] = lines[quoted]!.replace('"\\"":"acme"}', '"\\"":"acmf"}');
  expect(edited[quoted]).not.toBe(lines[quoted]);
  expect(await verifyAuditExport(edited, verifier_key, { tenant: tenantId })).toMatchObject({ ok: false, seq });
});
