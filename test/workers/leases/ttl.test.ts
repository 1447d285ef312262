import { describe, expect, it } from "vitest";
import { api, bootstrap, expectStatus, tokenWithRole } from "../helpers";
import { auditOfType, lease, listAll, makeCredential, secondsBetween, type ErrorResponse } from "./lease-helpers";

describe("lease TTL", () => {
  it("defaults to the credential's default_ttl", async () => {
    const { adminToken } = await bootstrap();
    const user = await tokenWithRole(adminToken, "user", "agent:ttl@host");
    const cred = await makeCredential(adminToken, "ttl/default", "v", { default_ttl: "15m", max_ttl: "1h" });
    expect(cred).toMatchObject({ default_ttl: 900, max_ttl: 3600 });
    const { lease: l } = await lease(user, { credential: "ttl/default" });
    expect(secondsBetween(l.issued_at, l.expires_at)).toBe(900);
    expect(secondsBetween(l.issued_at, l.max_expires_at)).toBe(3600);
  });

  it("refuses a TTL over the credential's cap with a 400 naming it, audits the denial and leases nothing", async () => {
    const { adminToken } = await bootstrap();
    const user = await tokenWithRole(adminToken, "user", "agent:ttl@host");
    const cred = await makeCredential(adminToken, "ttl/capped", "capped-secret", { default_ttl: "10m", max_ttl: "1h" });

    const res = await api(user, "POST", "/v1/leases", { credential: "ttl/capped", ttl: "2h" });
    const body = await expectStatus<ErrorResponse & { value?: string }>(res, 400);
    expect(body.error.code).toBe("validation_failed");
    expect(body.error.message).toContain("3600s");
    expect(body.value).toBeUndefined();
    expect(JSON.stringify(body)).not.toContain("capped-secret");

    const denied = await auditOfType(adminToken, "lease.denied");
    expect(denied).toHaveLength(1);
    expect(denied[0]!.entry).toMatchObject({
      outcome: "denied",
      actor: { identity: "agent:ttl@host" },
      target: { kind: "credential", id: cred.id },
      details: { code: "validation_failed" },
    });
    expect(await listAll(adminToken)).toHaveLength(0);
    expect(await auditOfType(adminToken, "lease.created")).toHaveLength(0);

    // Positive control: exactly the cap is granted.
    const { lease: atCap } = await lease(user, { credential: "ttl/capped", ttl: "1h" });
    expect(secondsBetween(atCap.issued_at, atCap.expires_at)).toBe(3600);
    expect(await listAll(adminToken)).toHaveLength(1);
  });

  it("grants the cap when the request asks for clamping", async () => {
    const { adminToken } = await bootstrap();
    const user = await tokenWithRole(adminToken, "user", "agent:ttl@host");
    await makeCredential(adminToken, "ttl/clamped", "clamped-secret", { default_ttl: "10m", max_ttl: "1h" });
    const { lease: l, value } = await lease(user, { credential: "ttl/clamped", ttl: "5h", clamp: true });
    expect(value).toBe("clamped-secret");
    expect(secondsBetween(l.issued_at, l.expires_at)).toBe(3600);
    expect(l.expires_at).toBe(l.max_expires_at);
    const created = await auditOfType(adminToken, "lease.created");
    expect(created.map((e) => e.entry.details.ttl)).toEqual([3600]);
    expect(await auditOfType(adminToken, "lease.denied")).toHaveLength(0);
  });

  it("caps by the tenant maximum when the credential sets no max_ttl, and refuses a credential max above it", async () => {
    const { adminToken } = await bootstrap();
    const user = await tokenWithRole(adminToken, "user", "agent:ttl@host");
    const cred = await makeCredential(adminToken, "ttl/tenant-cap", "v");
    expect(cred.max_ttl).toBe(86_400);
    const over = await expectStatus<ErrorResponse>(
      await api(user, "POST", "/v1/leases", { credential: "ttl/tenant-cap", ttl: "2d" }),
      400,
    );
    expect(over.error.message).toContain("86400s");
    const { lease: l } = await lease(user, { credential: "ttl/tenant-cap", ttl: "1d" });
    expect(secondsBetween(l.issued_at, l.expires_at)).toBe(86_400);

    const refused = await api(adminToken, "POST", "/v1/credentials", {
      name: "ttl/too-long",
      value: "v",
      max_ttl: "2d",
    });
    expect((await expectStatus<ErrorResponse>(refused, 400)).error.message).toContain("86400");
    await makeCredential(adminToken, "ttl/just-right", "v", { max_ttl: "1d" });
  });

  it.each([
    ["90s", 90],
    ["10m", 600],
    ["1h", 3600],
    [120, 120],
  ])("accepts the duration %s", async (ttl, seconds) => {
    const { adminToken } = await bootstrap();
    const user = await tokenWithRole(adminToken, "user", "agent:ttl@host");
    await makeCredential(adminToken, "ttl/durations", "v", { max_ttl: "2h" });
    const { lease: l } = await lease(user, { credential: "ttl/durations", ttl });
    expect(secondsBetween(l.issued_at, l.expires_at)).toBe(seconds);
  });

  it("refuses a malformed duration with a 400", async () => {
    const { adminToken } = await bootstrap();
    const user = await tokenWithRole(adminToken, "user", "agent:ttl@host");
    await makeCredential(adminToken, "ttl/malformed", "v");
    for (const ttl of ["10 minutes", "-5s", 0, "1w"]) {
      await expectStatus(await api(user, "POST", "/v1/leases", { credential: "ttl/malformed", ttl }), 400);
    }
    await lease(user, { credential: "ttl/malformed", ttl: "10m" });
  });
});
