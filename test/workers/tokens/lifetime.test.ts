import { describe, expect, it } from "vitest";
import { api, bootstrap, expectStatus, type ErrorBody } from "../helpers";

type Created = { id: string; token: string; expires_at: string | null };

/** An admin API token created by the bootstrap admin, optionally expiring. */
async function adminToken(bootstrapAdmin: string, expires_in?: string): Promise<Created> {
  const body = { name: "admin", role: "admin", identity: "user:ops@acme.test", ...(expires_in ? { expires_in } : {}) };
  return expectStatus<Created>(await api(bootstrapAdmin, "POST", "/v1/tokens", body), 201);
}

/** How many tokens (revoked included) the tenant holds. */
async function tokenCount(admin: string): Promise<number> {
  return (
    await expectStatus<{ items: unknown[] }>(await api(admin, "GET", "/v1/tokens?include_revoked=true&limit=100"), 200)
  ).items.length;
}

describe("a created token never outlives the token that created it (issue 9 §3)", () => {
  it("an admin token expiring in 2 minutes cannot mint a non-expiring or longer-lived token; a shorter one is capped below it", async () => {
    const { adminToken: root } = await bootstrap();
    const shortLived = await adminToken(root, "2m");
    const before = await tokenCount(root);

    const forever = await expectStatus<ErrorBody>(
      await api(shortLived.token, "POST", "/v1/tokens", {
        name: "forever",
        role: "admin",
        identity: "user:x@acme.test",
      }),
      400,
    );
    expect(forever.error.code).toBe("validation_failed");
    expect(forever.error.message).toContain("expires_in");
    const longer = await expectStatus<ErrorBody>(
      await api(shortLived.token, "POST", "/v1/tokens", {
        name: "longer",
        role: "admin",
        identity: "user:x@acme.test",
        expires_in: "1h",
      }),
      400,
    );
    expect(longer.error.message).toContain("expires_in");
    expect(await tokenCount(root), "a refused request creates nothing").toBe(before);

    // Positive control: within the creator's lifetime the same token may mint.
    const child = await expectStatus<Created>(
      await api(shortLived.token, "POST", "/v1/tokens", {
        name: "child",
        role: "user",
        identity: "user:x@acme.test",
        expires_in: "1m",
      }),
      201,
    );
    expect(Date.parse(child.expires_at!)).toBeLessThanOrEqual(Date.parse(shortLived.expires_at!));
    await expectStatus(await api(child.token, "GET", "/v1/whoami"), 200);
  });

  it("a non-expiring admin token may still mint non-expiring tokens (positive control)", async () => {
    const { adminToken: root } = await bootstrap();
    const created = await adminToken(root);
    expect(created.expires_at).toBeNull();
  });

  it("a session cannot mint API tokens (403), even an admin session; its API token can", async () => {
    const { adminToken: root } = await bootstrap();
    const session = await expectStatus<Created>(await api(root, "POST", "/v1/sessions", { ttl: "10m" }), 201);
    const before = await tokenCount(root);
    const refused = await expectStatus<ErrorBody>(
      await api(session.token, "POST", "/v1/tokens", {
        name: "from session",
        role: "admin",
        identity: "user:x@acme.test",
        expires_in: "1m",
      }),
      403,
    );
    expect(refused.error.code).toBe("forbidden");
    expect(await tokenCount(root)).toBe(before);
    // The refusal is audited like any other role refusal.
    const denied = await expectStatus<{
      items: { entry: { actor: { token_id: string }; details: { operation: string } } }[];
    }>(await api(root, "GET", "/v1/audit?type=access.denied"), 200);
    expect(denied.items.map((i) => [i.entry.actor.token_id, i.entry.details.operation])).toContainEqual([
      session.id,
      "tokens.create",
    ]);
    // Positive control: the API token behind the session may.
    await expectStatus(
      await api(root, "POST", "/v1/tokens", { name: "from api token", role: "user", identity: "user:x@acme.test" }),
      201,
    );
  });

  it("revoking a token ends the sessions derived from it, and only those", async () => {
    const { adminToken: root } = await bootstrap();
    const parent = await adminToken(root);
    const other = await adminToken(root);
    const session = await expectStatus<Created>(await api(parent.token, "POST", "/v1/sessions", {}), 201);
    const otherSession = await expectStatus<Created>(await api(other.token, "POST", "/v1/sessions", {}), 201);
    await expectStatus(await api(session.token, "GET", "/v1/whoami"), 200);
    await expectStatus(await api(root, "DELETE", `/v1/tokens/${parent.id}`), 204);
    expect((await expectStatus<ErrorBody>(await api(session.token, "GET", "/v1/whoami"), 401)).error.code).toBe(
      "unauthorized",
    );
    // Positive control: a session of a token that was not revoked still works.
    await expectStatus(await api(otherSession.token, "GET", "/v1/whoami"), 200);
  });
});
