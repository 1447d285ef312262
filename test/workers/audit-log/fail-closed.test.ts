import { env } from "cloudflare:test";
import { afterEach, expect, it, vi } from "vitest";
import { api, bootstrap, createCredential, expectStatus, tokenWithRole } from "../helpers";
import { auditRows, scalar, verify, withSql } from "./helpers";

const TRIGGER =
  "CREATE TRIGGER fail_audit BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'injected audit failure'); END;";

afterEach(() => vi.restoreAllMocks());

/** A tenant with a credential, a user and a spare token, plus a snapshot function over everything a write could change. */
async function world() {
  const { tenantId, adminToken } = await bootstrap();
  const user = await tokenWithRole(adminToken, "user", "agent:fail@test");
  const spare = await expectStatus<{ id: string }>(
    await api(adminToken, "POST", "/v1/tokens", { name: "spare", role: "viewer", identity: "user:spare@test" }),
    201,
  );
  const cred = await createCredential(adminToken, "db", "original-value");
  const snapshot = async () => ({
    d1: {
      credentials: (
        await env.DB.prepare("SELECT * FROM credentials WHERE tenant_id = ? ORDER BY id").bind(tenantId).all()
      ).results,
      versions: (
        await env.DB.prepare(
          "SELECT credential_id, version, kek_version FROM credential_versions WHERE tenant_id = ? ORDER BY credential_id, version",
        )
          .bind(tenantId)
          .all()
      ).results,
    },
    tokens: await withSql(tenantId, (sql) =>
      sql
        .exec("SELECT * FROM tokens ORDER BY id")
        .toArray()
        .map((r) => ({ ...r })),
    ),
    leases: await scalar(tenantId, "SELECT count(*) AS n FROM leases"),
    audit: await auditRows(tenantId),
  });
  return { tenantId, adminToken, user, spareId: spare.id, cred, snapshot };
}

function expectServerError(status: number, text: string): void {
  expect(status, text).toBeGreaterThanOrEqual(500);
  const body = JSON.parse(text) as { error: { code: string; message: string } };
  expect(body.error.code).toBe("internal");
  expect(text).not.toContain("injected audit failure"); // no internals leak either
}

it("when the audit entry cannot be written, every state-changing operation fails and changes nothing", async () => {
  const { tenantId, adminToken, user, spareId, snapshot } = await world();
  const errors = vi.spyOn(console, "error").mockImplementation(() => {});
  const before = await snapshot();
  await withSql(tenantId, (sql) => sql.exec(TRIGGER));

  const attempts: [string, string, string, unknown?][] = [
    [user, "POST", "/v1/leases", { credential: "db", ttl: "5m" }],
    [adminToken, "POST", "/v1/credentials", { name: "new-one", value: "new-value" }],
    [adminToken, "POST", "/v1/credentials/db/rotate", { value: "rotated-value" }],
    [adminToken, "PATCH", "/v1/credentials/db", { description: "changed", tags: ["x"], default_ttl: 60 }],
    [adminToken, "DELETE", "/v1/credentials/db"],
    [adminToken, "POST", "/v1/tokens", { name: "new", role: "user", identity: "user:new@test" }],
    [adminToken, "DELETE", `/v1/tokens/${spareId}`],
  ];
  for (const [token, method, path, body] of attempts) {
    const res = await api(token, method, path, body);
    const text = await res.text();
    expectServerError(res.status, text);
    expect(text).not.toContain("original-value");
    expect(text).not.toMatch(/"value"|"token"/);
  }
  expect(errors).toHaveBeenCalled();

  await withSql(tenantId, (sql) => sql.exec("DROP TRIGGER fail_audit"));
  expect(await snapshot()).toEqual(before);
  // Through the API too: the credential is unchanged at version 1, the spare token still works.
  expect(await expectStatus(await api(adminToken, "GET", "/v1/credentials/db"), 200)).toMatchObject({
    current_version: 1,
    description: before.d1.credentials[0]!.description,
  });
  await expectStatus(await api(adminToken, "GET", "/v1/credentials/new-one"), 404);
  expect(await expectStatus(await api(adminToken, "GET", `/v1/tokens/${spareId}`), 200)).toMatchObject({
    revoked_at: null,
  });
  expect(await verify(adminToken)).toMatchObject({ ok: true, checked: before.audit.length });
});

it("positive control: with the trigger dropped, the same operations succeed and are audited", async () => {
  const { tenantId, adminToken, user, spareId, snapshot } = await world();
  await withSql(tenantId, (sql) => sql.exec(TRIGGER));
  const refused = await api(user, "POST", "/v1/leases", { credential: "db" });
  expectServerError(refused.status, await refused.text());
  await withSql(tenantId, (sql) => sql.exec("DROP TRIGGER fail_audit"));
  const before = await snapshot();

  const lease = await expectStatus<{ value: string }>(
    await api(user, "POST", "/v1/leases", { credential: "db", ttl: "5m" }),
    201,
  );
  expect(lease.value).toBe("original-value");
  await expectStatus(await api(adminToken, "POST", "/v1/credentials", { name: "new-one", value: "new-value" }), 201);
  await expectStatus(await api(adminToken, "POST", "/v1/credentials/db/rotate", { value: "rotated-value" }), 200);
  await expectStatus(await api(adminToken, "PATCH", "/v1/credentials/db", { description: "changed" }), 200);
  await expectStatus(
    await api(adminToken, "POST", "/v1/tokens", { name: "new", role: "user", identity: "user:new@test" }),
    201,
  );
  await expectStatus(await api(adminToken, "DELETE", `/v1/tokens/${spareId}`), 204);
  await expectStatus(await api(adminToken, "DELETE", "/v1/credentials/db"), 204);

  const after = await snapshot();
  expect(after.leases).toBe(before.leases + 1);
  expect(after.audit.slice(before.audit.length).map((r) => r.type)).toEqual([
    "lease.created",
    "credential.created",
    "credential.rotated",
    "credential.updated",
    "token.created",
    "token.revoked",
    "credential.deleted",
  ]);
  expect(await verify(adminToken)).toMatchObject({ ok: true });
});
