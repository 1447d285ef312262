import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { vaultStub } from "../../../worker/routes/define";
import { api, bootstrap, expectStatus, tokenWithRole } from "../helpers";
import { auditOfType, getLease, lease, makeCredential, type ErrorResponse } from "./lease-helpers";

/** A tenant with a manager and a user. */
async function tenant() {
  const { tenantId, adminToken } = await bootstrap();
  const manager = await tokenWithRole(adminToken, "manager", "user:manager@acme.test");
  const user = await tokenWithRole(adminToken, "user", "agent:worker@host");
  return { tenantId, adminToken, manager, user };
}

const rotate = async (token: string, name: string, value: string) =>
  expectStatus<{ current_version: number; keep_versions: number }>(await rotateRaw(token, name, value), 200);

/** Someone with D1 write access (and nothing else) moves a credential's current version. */
async function rollBackInD1(credentialId: string, version: number): Promise<void> {
  const result = await env.DB.prepare("UPDATE credentials SET current_version = ? WHERE id = ?")
    .bind(version, credentialId)
    .run();
  expect(result.meta.changes).toBe(1);
}

/** The version numbers D1 still holds for a credential. */
async function d1Versions(credentialId: string): Promise<number[]> {
  const { results } = await env.DB.prepare(
    "SELECT version FROM credential_versions WHERE credential_id = ? ORDER BY version",
  )
    .bind(credentialId)
    .all<{ version: number }>();
  return results.map((r) => r.version);
}

describe("the Durable Object is the authority for a credential's current version (issue 9 §12)", () => {
  it("a current_version rolled back in D1 is refused with 500 integrity_error and an integrity.violation entry; an untouched credential still leases", async () => {
    const { manager, user } = await tenant();
    const victim = await makeCredential(manager, "prod/victim", "old-secret");
    const control = await makeCredential(manager, "prod/control", "control-v1");
    await rotate(manager, "prod/victim", "new-secret");
    await rotate(manager, "prod/control", "control-v2");

    await rollBackInD1(victim.id, 1);
    const refused = await expectStatus<ErrorResponse>(
      await api(user, "POST", "/v1/leases", { credential: "prod/victim" }),
      500,
    );
    expect(refused.error.code).toBe("integrity_error");
    expect(JSON.stringify(refused)).not.toContain("old-secret");
    // By id too, and rotating from the rolled-back version (which would launder it) is refused as well.
    expect(
      (await expectStatus<ErrorResponse>(await api(user, "POST", "/v1/leases", { credential: victim.id }), 500)).error
        .code,
    ).toBe("integrity_error");
    expect(
      (await expectStatus<ErrorResponse>(await rotateRaw(manager, "prod/victim", "laundered"), 500)).error.code,
    ).toBe("integrity_error");
    // Reads the object serves do not show the rolled-back version as current either.
    expect(
      (await expectStatus<ErrorResponse>(await api(manager, "GET", "/v1/credentials/prod%2Fvictim"), 500)).error.code,
    ).toBe("integrity_error");

    const violations = await auditOfType(manager, "integrity.violation");
    expect(violations.map((v) => v.entry.details.operation)).toEqual([
      "leases.create",
      "leases.create",
      "credentials.rotate",
      "credentials.get",
    ]);
    expect(violations[0]!.entry).toMatchObject({
      outcome: "error",
      target: { kind: "credential", id: victim.id },
      details: { operation: "leases.create", expected_version: 2, d1_version: 1, deleted: false },
    });
    expect(await auditOfType(manager, "lease.created")).toHaveLength(0);

    // Positive control: a credential whose D1 row agrees leases its current value.
    expect(await lease(user, { credential: control.id })).toMatchObject({ value: "control-v2", lease: { version: 2 } });
    // Putting D1 back ends the refusal.
    await rollBackInD1(victim.id, 2);
    expect(await lease(user, { credential: "prod/victim" })).toMatchObject({
      value: "new-secret",
      lease: { version: 2 },
    });
    expect(
      await expectStatus<{ current_version: number }>(await api(manager, "GET", "/v1/credentials/prod%2Fvictim"), 200),
    ).toMatchObject({ current_version: 2 });
  });

  it("a credential deleted through the vault and written back into D1 is refused, not resurrected", async () => {
    const { manager, user } = await tenant();
    const cred = await makeCredential(manager, "prod/gone", "gone-value");
    const row = await env.DB.prepare("SELECT * FROM credentials WHERE id = ?")
      .bind(cred.id)
      .first<Record<string, unknown>>();
    const version = await env.DB.prepare("SELECT * FROM credential_versions WHERE credential_id = ?")
      .bind(cred.id)
      .first<Record<string, unknown>>();
    await expectStatus(await api(manager, "DELETE", "/v1/credentials/prod%2Fgone"), 204);
    // Positive control: after a deletion the credential is simply missing.
    expect(
      (await expectStatus<ErrorResponse>(await api(user, "POST", "/v1/leases", { credential: cred.id }), 404)).error
        .code,
    ).toBe("not_found");

    await insertRow("credentials", row!);
    await insertRow("credential_versions", version!);
    expect(
      (await expectStatus<ErrorResponse>(await api(user, "POST", "/v1/leases", { credential: cred.id }), 500)).error
        .code,
    ).toBe("integrity_error");
    const [violation] = await auditOfType(manager, "integrity.violation");
    expect(violation!.entry.details).toMatchObject({ deleted: true, d1_version: 1 });
  });

  it("a credential created before the object kept heads adopts D1's version on first use (audited), then is protected", async () => {
    const { tenantId, manager, user } = await tenant();
    const cred = await makeCredential(manager, "legacy/key", "legacy-v1");
    await rotate(manager, "legacy/key", "legacy-v2");
    // Simulate a credential from before the migration: the object has no head for it.
    await runInDurableObject(vaultStub(env, tenantId), (_instance, state) => {
      state.storage.sql.exec("DELETE FROM credential_heads WHERE credential_id = ?", cred.id);
    });
    expect(await lease(user, { credential: "legacy/key" })).toMatchObject({
      value: "legacy-v2",
      lease: { version: 2 },
    });
    const adopted = await auditOfType(manager, "credential.version_adopted");
    expect(adopted.map((a) => [a.entry.target?.id, a.entry.target?.version])).toEqual([[cred.id, 2]]);

    await rollBackInD1(cred.id, 1);
    // The lease path caches the D1 read for a while; any credential write through the vault empties the cache.
    await makeCredential(manager, "legacy/other", "x");
    expect(
      (await expectStatus<ErrorResponse>(await api(user, "POST", "/v1/leases", { credential: "legacy/key" }), 500))
        .error.code,
    ).toBe("integrity_error");
  });
});

describe("version retention (issue 9 §12)", () => {
  it("keeps the newest keep_versions versions: the oldest is purged from D1 (audited) when one more is added; leases on it stay and renew", async () => {
    const { tenantId, manager, user } = await tenant();
    const cred = await makeCredential(manager, "ret/key", "v1", {});
    const control = await makeCredential(manager, "ret/control", "c1");
    await expectStatus(await api(manager, "PATCH", "/v1/credentials/ret%2Fkey", { keep_versions: 2 }), 200);
    const onV1 = await lease(user, { credential: "ret/key" });

    await rotate(manager, "ret/key", "v2");
    expect(await d1Versions(cred.id)).toEqual([1, 2]);
    const third = await rotate(manager, "ret/key", "v3");
    expect(third).toMatchObject({ current_version: 3, keep_versions: 2 });
    expect(await d1Versions(cred.id)).toEqual([2, 3]);
    const listed = await expectStatus<{ items: { version: number }[] }>(
      await api(manager, "GET", "/v1/credentials/ret%2Fkey/versions"),
      200,
    );
    expect(listed.items.map((v) => v.version)).toEqual([3, 2]);

    const purged = await auditOfType(manager, "credential.version_purged");
    expect(purged.map((p) => [p.entry.target?.id, p.entry.target?.version, p.entry.details.keep_versions])).toEqual([
      [cred.id, 1, 2],
    ]);

    // The lease issued on version 1 keeps what it was given and can still be renewed.
    expect((await getLease(user, onV1.lease.id)).state).toBe("active");
    await expectStatus(await api(user, "POST", `/v1/leases/${onV1.lease.id}/renew`, { ttl: "5m" }), 200);

    // A purged version cannot be leased again, even by rolling D1 back to it: the object's stored
    // copy (refilled by the renewal's read) serves version 3, and once D1 is read the rollback is refused.
    await rollBackInD1(cred.id, 1);
    expect((await lease(user, { credential: "ret/key" })).lease.version).toBe(3);
    await runInDurableObject(vaultStub(env, tenantId), (_instance, state) => {
      state.storage.sql.exec("DELETE FROM credential_copies");
    });
    await makeCredential(manager, "ret/other", "x"); // empties the object's memory cache
    expect(
      (await expectStatus<ErrorResponse>(await api(user, "POST", "/v1/leases", { credential: "ret/key" }), 500)).error
        .code,
    ).toBe("integrity_error");

    // Positive control: with the default retention nothing is purged after two rotations.
    await rotate(manager, "ret/control", "c2");
    const controlRotated = await rotate(manager, "ret/control", "c3");
    expect(controlRotated.keep_versions).toBe(10);
    expect(await d1Versions(control.id)).toEqual([1, 2, 3]);
  });

  it("lowering keep_versions purges at once; a keep_versions out of range is a 400 naming it and changes nothing", async () => {
    const { manager } = await tenant();
    const cred = await makeCredential(manager, "ret/lower", "v1");
    await rotate(manager, "ret/lower", "v2");
    await rotate(manager, "ret/lower", "v3");
    for (const bad of [0, 101, 1.5, "3"]) {
      const res = await expectStatus<ErrorResponse>(
        await api(manager, "PATCH", "/v1/credentials/ret%2Flower", { keep_versions: bad }),
        400,
      );
      expect(res.error.message).toContain("keep_versions");
    }
    expect(
      (
        await expectStatus<ErrorResponse>(
          await api(manager, "POST", "/v1/credentials", { name: "ret/bad", value: "x", keep_versions: 0 }),
          400,
        )
      ).error.message,
    ).toContain("keep_versions");
    expect(await d1Versions(cred.id)).toEqual([1, 2, 3]);

    const updated = await expectStatus<{ keep_versions: number }>(
      await api(manager, "PATCH", "/v1/credentials/ret%2Flower", { keep_versions: 1 }),
      200,
    );
    expect(updated.keep_versions).toBe(1);
    expect(await d1Versions(cred.id)).toEqual([3]);
    expect(
      (await auditOfType(manager, "credential.version_purged")).map((p) => p.entry.target?.version).sort(),
    ).toEqual([1, 2]);
    const created = await expectStatus<{ keep_versions: number }>(
      await api(manager, "POST", "/v1/credentials", { name: "ret/five", value: "x", keep_versions: 5 }),
      201,
    );
    expect(created.keep_versions).toBe(5);
  });
});

function rotateRaw(token: string, name: string, value: string): Promise<Response> {
  return api(token, "POST", `/v1/credentials/${encodeURIComponent(name)}/rotate`, { value });
}

/** Writes a row straight into D1, as someone holding only D1 access could. */
async function insertRow(table: "credentials" | "credential_versions", row: Record<string, unknown>): Promise<void> {
  const columns = Object.keys(row);
  const values = columns.map((c) => (row[c] instanceof ArrayBuffer ? new Uint8Array(row[c]) : row[c]));
  await env.DB.prepare(`INSERT INTO ${table} (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`)
    .bind(...values)
    .run();
}
