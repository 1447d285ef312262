import { describe, expect, it } from "vitest";
import { CredentialCache } from "../../../durable-objects/credential-cache";
import {
  DecryptionError,
  importTenantKek,
  randomBytes,
  sealCredentialValue,
  utf8Decode,
  utf8Encode,
} from "../../../worker/core/crypto";
import { drainKekSweep } from "../kek/inspect";
import { api, bootstrap, createCredential, expectStatus, tokenWithRole } from "../helpers";

/**
 * Issue 16: the lease path keeps unwrapped DEKs as non-extractable CryptoKeys in the object's
 * memory (durable-objects/credential-cache.ts). A DEK must never outlive the row it was unwrapped
 * from: rotation, purge, delete, KEK rotation and KEK destruction all drop it.
 */

const aad = { tenantId: "ten_0123456789abcdef", credentialId: "cred_0123456789abcdef", version: 1 };
const kekOf = (version: number) => importTenantKek(randomBytes(32), version);

describe("DEK cache (unit, real WebCrypto)", () => {
  it("a second open of the same version is a hit; invalidate() drops the DEK", async () => {
    const cache = new CredentialCache(() => Date.now());
    const kek = await kekOf(1);
    const sealed = await sealCredentialValue(utf8Encode("first"), kek, aad);
    expect(utf8Decode(await cache.openValue(sealed, kek, aad))).toBe("first");
    expect(cache.dekCount).toBe(1);
    // A hit does not unwrap again: it opens even when handed a KEK that could not unwrap it.
    const otherKek = await kekOf(1);
    expect(utf8Decode(await cache.openValue(sealed, otherKek, aad))).toBe("first");
    cache.invalidate();
    expect(cache.dekCount).toBe(0);
    // After the eviction the DEK must be unwrapped again, so the wrong KEK is refused (control: the right one works).
    await expect(cache.openValue(sealed, otherKek, aad)).rejects.toBeInstanceOf(DecryptionError);
    expect(utf8Decode(await cache.openValue(sealed, kek, aad))).toBe("first");
  });

  it("a different wrapped DEK for the same credential, version and KEK version is never opened with the cached key", async () => {
    const cache = new CredentialCache(() => Date.now());
    const kek = await kekOf(1);
    const a = await sealCredentialValue(utf8Encode("value-a"), kek, aad);
    const b = await sealCredentialValue(utf8Encode("value-b"), kek, aad);
    expect(utf8Decode(await cache.openValue(a, kek, aad))).toBe("value-a");
    // Row b replaced row a without an invalidation (a bug elsewhere, or a rewrap): b's own DEK is used.
    expect(utf8Decode(await cache.openValue(b, kek, aad))).toBe("value-b");
    expect(utf8Decode(await cache.openValue(a, kek, aad))).toBe("value-a");
  });

  it("keys by context: another version's DEK is not used, and a DEK unwrapped across an invalidation is not kept", async () => {
    const cache = new CredentialCache(() => Date.now());
    const kek = await kekOf(1);
    const v1 = await sealCredentialValue(utf8Encode("one"), kek, aad);
    expect(utf8Decode(await cache.openValue(v1, kek, aad))).toBe("one");
    // The v1 blob presented as version 2 must fail (the AAD binds the version), cached DEK or not.
    await expect(cache.openValue(v1, kek, { ...aad, version: 2 })).rejects.toBeInstanceOf(DecryptionError);
    cache.invalidate();
    const pending = cache.openValue(v1, kek, aad);
    cache.invalidate(); // a write landed while the unwrap was in flight
    expect(utf8Decode(await pending)).toBe("one");
    expect(cache.dekCount).toBe(0);
  });
});

async function lease(token: string, credential: string): Promise<string> {
  return (await expectStatus<{ value: string }>(await api(token, "POST", "/v1/leases", { credential }), 201)).value;
}

describe("DEK cache through the lease path", () => {
  it("rotation and delete are seen at once; an untouched credential (control) keeps leasing its value", async () => {
    const { adminToken } = await bootstrap();
    const manager = await tokenWithRole(adminToken, "manager");
    const user = await tokenWithRole(adminToken, "user", "agent:dek@test");
    await createCredential(manager, "dek/rot", "rot-v1");
    await createCredential(manager, "dek/other", "other-v1");
    for (let i = 0; i < 2; i++) expect(await lease(user, "dek/rot")).toBe("rot-v1");
    expect(await lease(user, "dek/other")).toBe("other-v1");
    await expectStatus(await api(manager, "POST", "/v1/credentials/dek%2Frot/rotate", { value: "rot-v2" }), 200);
    expect(await lease(user, "dek/rot")).toBe("rot-v2");
    expect(await lease(user, "dek/other")).toBe("other-v1");
    await expectStatus(await api(manager, "DELETE", "/v1/credentials/dek%2Frot"), 204);
    await expectStatus(await api(user, "POST", "/v1/leases", { credential: "dek/rot" }), 404);
    expect(await lease(user, "dek/other")).toBe("other-v1");
  });

  it("after a KEK rotation whose sweep destroys the old KEK, leases open under the new KEK", async () => {
    const { tenantId, adminToken } = await bootstrap();
    const user = await tokenWithRole(adminToken, "user", "agent:dek@test");
    await createCredential(adminToken, "dek/kek", "kek-value");
    expect(await lease(user, "dek/kek")).toBe("kek-value"); // DEK cached under KEK version 1
    await expectStatus(await api(adminToken, "POST", "/v1/admin/kek/rotate"), 202);
    await drainKekSweep(tenantId, adminToken);
    const status = await expectStatus<{ versions: { version: number; state: string }[] }>(
      await api(adminToken, "GET", "/v1/admin/kek"),
      200,
    );
    expect(status.versions.map((v) => [v.version, v.state])).toEqual([
      [1, "destroyed"],
      [2, "active"],
    ]);
    expect(await lease(user, "dek/kek")).toBe("kek-value");
  });
});
