import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VaultClient, VaultError, type Lease } from "../../../sdk/index";
import { startLocalVault, type LocalVault } from "../support/vault";

/** The SDK against a real local Vault (wrangler's workerd, the KMS emulator, D1): no mock server. */

let vault: LocalVault;
let admin: VaultClient;

beforeAll(async () => {
  vault = await startLocalVault();
  admin = new VaultClient({ url: vault.url, token: vault.adminToken });
});
afterAll(() => vault?.stop());

/** A credential of this test's own, so no test depends on another's state. */
async function credential(value = `sk-${randomUUID()}`): Promise<{ name: string; value: string }> {
  const name = `test/${randomUUID().slice(0, 8)}`;
  await admin.credentials.create({ name, value, default_ttl: "5m", max_ttl: "1h" });
  return { name, value };
}

/** A client with a fresh token of `role`. */
async function clientWithRole(role: "viewer" | "user" | "manager"): Promise<VaultClient> {
  const created = await admin.tokens.create({
    name: `${role}-${randomUUID().slice(0, 6)}`,
    role,
    identity: `agent:${role}-test`,
  });
  return new VaultClient({ url: vault.url, token: created.token });
}

describe("leases", () => {
  it("`await using` revokes the lease server-side when the block ends", async () => {
    const cred = await credential();
    let id = "";
    {
      await using lease = await admin.lease(cred.name, {
        ttl: "10m",
        purpose: "sdk test",
        agent: { name: "vitest", model: "none" },
      });
      id = lease.id;
      expect(lease.value).toBe(cred.value);
      expect(lease.metadata.agent).toMatchObject({ name: "vitest" });
      expect((await admin.leases.get(id)).state).toBe("active");
    }
    const after = await admin.leases.get(id);
    expect(after.state).toBe("revoked");
    expect(after.revoked_by).not.toBeNull();
  });

  it("withLease revokes in finally even when fn throws, and passes the value to fn", async () => {
    const cred = await credential();
    let held: Lease | undefined;
    await expect(
      admin.withLease(cred.name, (lease) => {
        held = lease;
        expect(lease.value).toBe(cred.value);
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(held).toBeDefined();
    expect((await admin.leases.get(held!.id)).state).toBe("revoked");
    // Returning normally revokes too, and hands back fn's result.
    const id = await admin.withLease(cred.name, (lease) => lease.id, { ttl: 60 });
    expect((await admin.leases.get(id)).state).toBe("revoked");
  });

  it("renews, lists, and revokes idempotently; the value never reaches JSON or inspection", async () => {
    const cred = await credential();
    const lease = await admin.lease(cred.name, { ttl: "1m" });
    const before = lease.expiresAt.getTime();
    const renewed = await lease.renew("10m");
    expect(Date.parse(renewed.expires_at)).toBeGreaterThan(before);
    expect(lease.expiresAt.getTime()).toBe(Date.parse(renewed.expires_at));
    const page = await admin.leases.list({ credential: cred.name, state: "active" });
    expect(page.items.map((l) => l.id)).toContain(lease.id);
    expect(JSON.stringify(lease)).not.toContain(cred.value);
    expect(String(lease)).not.toContain(cred.value);
    const { inspect } = await import("node:util");
    expect(inspect(lease)).not.toContain(cred.value);
    expect((await lease.revoke()).state).toBe("revoked");
    // A second revoke (server answers 409) is not an error: the lease has ended.
    expect((await lease.revoke()).state).toBe("revoked");
    await lease[Symbol.asyncDispose]();
  });

  it("revokeMatching ends every active lease of a credential", async () => {
    const cred = await credential();
    const a = await admin.lease(cred.name);
    const b = await admin.lease(cred.name);
    expect(await admin.leases.revokeMatching({ credential: cred.name, reason: "sdk test" })).toEqual({ revoked: 2 });
    for (const l of [a, b]) expect((await admin.leases.get(l.id)).state).toBe("revoked");
  });
});

describe("credentials, tokens, audit, admin", () => {
  it("covers credential CRUD, rotation and versions", async () => {
    const cred = await credential();
    const got = await admin.credentials.get(cred.name);
    expect(got).toMatchObject({ name: cred.name, current_version: 1, default_ttl: 300, max_ttl: 3600 });
    expect(await admin.credentials.update(cred.name, { description: "updated", tags: ["sdk"] })).toMatchObject({
      description: "updated",
      tags: ["sdk"],
    });
    expect((await admin.credentials.rotate(cred.name, "new-value")).current_version).toBe(2);
    expect((await admin.credentials.versions(got.id)).items.map((v) => v.version).sort()).toEqual([1, 2]);
    await admin.withLease(cred.name, (lease) => expect(lease.value).toBe("new-value"));
    const all = [];
    for await (const c of admin.credentials.listAll({ tag: "sdk", limit: 1 })) all.push(c.name);
    expect(all).toContain(cred.name);
    await admin.credentials.delete(cred.name);
    await expect(admin.credentials.get(cred.name)).rejects.toMatchObject({ code: "not_found", status: 404 });
  });

  it("manages tokens and answers whoami, health, audit, KEK and incident calls", async () => {
    expect(await admin.whoami()).toMatchObject({
      tenant_id: vault.tenantId,
      role: "admin",
      identity: "user:admin@test",
    });
    expect(await admin.health()).toEqual({ ok: true });
    expect(await admin.system.ready()).toEqual({ ok: true, d1: "ok" });
    const created = await admin.tokens.create({
      name: "ci",
      role: "viewer",
      identity: "ci:github:acme/api@refs/heads/main",
      expires_in: "1h",
    });
    expect((await admin.tokens.get(created.id)).name).toBe("ci");
    expect((await admin.tokens.list({ limit: 100 })).items.map((t) => t.id)).toContain(created.id);
    await admin.tokens.revoke(created.id);
    expect((await admin.tokens.get(created.id)).revoked_at).not.toBeNull();
    const audit = await admin.audit.query({ type: "token.created", limit: 10 });
    expect(audit.items.length).toBeGreaterThan(0);
    expect(await admin.audit.verify({ allow_unsigned_tail: true })).toMatchObject({ ok: true });
    expect((await admin.audit.publicKey()).algorithm).toBe("ed25519");
    expect(Array.isArray((await admin.audit.checkpoints()).items)).toBe(true);
    expect((await admin.admin.kekStatus()).active_version).toBeGreaterThanOrEqual(1);
    const now = new Date();
    const report = await admin.incident.impact({
      from: new Date(now.getTime() - 3_600_000).toISOString(),
      to: now.toISOString(),
    });
    expect(report.truncated).toBe(false);
  });
});

describe("typed errors", () => {
  it("404 not_found with the request id", async () => {
    const error = await admin.credentials.get("no-such-credential").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VaultError);
    expect(error).toMatchObject({ code: "not_found", status: 404 });
    expect((error as VaultError).requestId).toMatch(/\S+/);
  });

  it("403 forbidden for a user token; the admin token, same call, succeeds", async () => {
    const user = await clientWithRole("user");
    const name = `test/${randomUUID().slice(0, 8)}`;
    await expect(user.credentials.create({ name, value: "v" })).rejects.toMatchObject({
      code: "forbidden",
      status: 403,
    });
    await expect(user.tokens.list()).rejects.toMatchObject({ code: "forbidden", status: 403 });
    expect((await admin.credentials.create({ name, value: "v" })).name).toBe(name);
    expect((await admin.tokens.list()).items.length).toBeGreaterThan(0);
    // The user may lease it (role user, no ACL), which is the positive control of the role itself.
    await user.withLease(name, (lease) => expect(lease.value).toBe("v"));
  });

  it("401 unauthorized for an unknown token; the admin token is accepted", async () => {
    const stranger = new VaultClient({ url: vault.url, token: `gv_api_${vault.tenantId}_${"0".repeat(43)}` });
    await expect(stranger.whoami()).rejects.toMatchObject({ code: "unauthorized", status: 401 });
    await expect(new VaultClient({ url: vault.url }).whoami()).rejects.toMatchObject({
      code: "unauthorized",
      status: 401,
    });
    expect((await admin.whoami()).role).toBe("admin");
  });

  it("validation_failed (400) is not retried", async () => {
    let sleeps = 0;
    const client = new VaultClient({
      url: vault.url,
      token: vault.adminToken,
      retry: { sleep: async () => void sleeps++ },
    });
    await expect(client.leases.list({ limit: 1000 })).rejects.toMatchObject({ code: "validation_failed", status: 400 });
    expect(sleeps).toBe(0);
  });
});
