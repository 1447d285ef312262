import { expect, it } from "vitest";
import { api, bootstrap, expectStatus, tokenWithRole } from "../helpers";
import { callStats } from "../kms/helpers";
import { makeCredential, MINUTE, TestClock, type ErrorResponse } from "./lease-helpers";

/**
 * Issue 16 goal 4: an object's first authorised lease starts the tenant KEK's unwrap in the
 * background, beside the credential's D1 read (durable-objects/kek/warm.ts). The warm-up must not
 * let a caller who proved nothing, or one without the role, make the vault call its KMS, and it
 * must not add a KMS call: the lease joins the same unwrap.
 *
 * The KEK cached at bootstrap is aged out with the test clock (the cache lives for
 * KEK_CACHE_TTL_SECONDS, 300 by default), so the next unwrap is a real KMS Decrypt.
 */
it("no KMS call for a bad token or a viewer's lease; an authorised lease unwraps the KEK exactly once", async () => {
  const { tenantId, adminToken } = await bootstrap();
  await makeCredential(adminToken, "warm/key", "warm-secret");
  const viewer = await tokenWithRole(adminToken, "viewer", "user:viewer@acme.test");
  const user = await tokenWithRole(adminToken, "user", "agent:warm@host");
  const clock = await TestClock.freeze(tenantId);
  await clock.at(10 * MINUTE);
  const decrypts = async () => (await callStats(tenantId)).Decrypt ?? 0;
  const before = await decrypts();

  // A token naming this tenant that proves nothing: 401, and the KMS is not called.
  const forged = `${user.slice(0, -8)}AAAAAAAA`;
  expect(forged).not.toBe(user);
  await expectStatus(await api(forged, "POST", "/v1/leases", { credential: "warm/key", ttl: "1m" }), 401);
  expect(await decrypts()).toBe(before);
  // A real token below the operation's role: 403, and the KMS is not called either.
  const refused = await expectStatus<ErrorResponse>(
    await api(viewer, "POST", "/v1/leases", { credential: "warm/key", ttl: "1m" }),
    403,
  );
  expect(refused.error.code).toBe("forbidden");
  expect(await decrypts()).toBe(before);

  // Positive control: the user's lease is served, with one Decrypt for the warm-up and the lease together.
  const first = await expectStatus<{ value: string }>(
    await api(user, "POST", "/v1/leases", { credential: "warm/key", ttl: "1m" }),
    201,
  );
  expect(first.value).toBe("warm-secret");
  expect(await decrypts()).toBe(before + 1);
  // Warm: no further KMS call.
  await expectStatus(await api(user, "POST", "/v1/leases", { credential: "warm/key", ttl: "1m" }), 201);
  expect(await decrypts()).toBe(before + 1);
});
