import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { api, BASE, bootstrap, expectStatus, tokenWithRole, workerFetch, type ErrorBody } from "../helpers";

type Created = { id: string; token: string; kind: string; role: string; identity: string; expires_at: string };

describe("session tokens", () => {
  it("are minted from an API token with the same identity, its role or lower, and work as bearer tokens", async () => {
    const { adminToken } = await bootstrap();
    const manager = await tokenWithRole(adminToken, "manager", "user:carol@acme.com");
    const session = await expectStatus<Created>(
      await api(manager, "POST", "/v1/sessions", { ttl: "30m", role: "viewer" }),
      201,
    );
    expect(session.token).toMatch(/^gv_ses_/);
    expect(session).toMatchObject({ kind: "session", role: "viewer", identity: "user:carol@acme.com" });
    const me = await expectStatus<{ kind: string; role: string }>(await api(session.token, "GET", "/v1/whoami"), 200);
    expect(me).toMatchObject({ kind: "session", role: "viewer" });
    // Lower role: may not do what the manager could (positive control with the manager token).
    await expectStatus(await api(manager, "GET", "/v1/audit"), 200);
    expect((await expectStatus<ErrorBody>(await api(session.token, "GET", "/v1/audit"), 403)).error.code).toBe(
      "forbidden",
    );
  });

  it("never get a higher role than their API token, and cannot mint sessions themselves", async () => {
    const { adminToken } = await bootstrap();
    const user = await tokenWithRole(adminToken, "user");
    expect(
      (await expectStatus<ErrorBody>(await api(user, "POST", "/v1/sessions", { role: "admin" }), 403)).error.code,
    ).toBe("forbidden");
    const session = await expectStatus<Created>(await api(user, "POST", "/v1/sessions", { role: "user" }), 201);
    expect((await expectStatus<ErrorBody>(await api(session.token, "POST", "/v1/sessions", {}), 403)).error.code).toBe(
      "forbidden",
    );
  });

  it("never outlive their API token and are capped at the maximum lifetime", async () => {
    const { adminToken } = await bootstrap();
    const shortLived = await expectStatus<{ token: string; expires_at: string }>(
      await api(adminToken, "POST", "/v1/tokens", {
        name: "short",
        role: "user",
        identity: "user:temp@acme.com",
        expires_in: "5m",
      }),
      201,
    );
    const session = await expectStatus<Created>(
      await api(shortLived.token, "POST", "/v1/sessions", { ttl: "2h" }),
      201,
    );
    expect(Date.parse(session.expires_at)).toBeLessThanOrEqual(Date.parse(shortLived.expires_at));
    const long = await expectStatus<Created>(await api(adminToken, "POST", "/v1/sessions", { ttl: "7d" }), 201);
    expect(Date.parse(long.expires_at) - Date.now()).toBeLessThanOrEqual(12 * 3600 * 1000 + 5000);
  });

  it("end when revoked, and when the API token that created them is revoked", async () => {
    const { adminToken } = await bootstrap();
    const created = await expectStatus<{ id: string; token: string }>(
      await api(adminToken, "POST", "/v1/tokens", { name: "cli", role: "user", identity: "user:dan@acme.com" }),
      201,
    );
    const a = await expectStatus<Created>(await api(created.token, "POST", "/v1/sessions", {}), 201);
    const b = await expectStatus<Created>(await api(created.token, "POST", "/v1/sessions", {}), 201);
    await expectStatus(await api(a.token, "GET", "/v1/whoami"), 200);
    await expectStatus(await api(a.token, "DELETE", `/v1/sessions/${a.id}`), 204);
    await expectStatus(await api(a.token, "GET", "/v1/whoami"), 401);
    await expectStatus(await api(b.token, "GET", "/v1/whoami"), 200);
    await expectStatus(await api(adminToken, "DELETE", `/v1/tokens/${created.id}`), 204);
    await expectStatus(await api(b.token, "GET", "/v1/whoami"), 401);
  });

  it("cannot be revoked by another identity (404 like a missing one); an admin can", async () => {
    const { adminToken } = await bootstrap();
    const alice = await tokenWithRole(adminToken, "user", "user:alice@acme.com");
    const bob = await tokenWithRole(adminToken, "user", "user:bob@acme.com");
    const session = await expectStatus<Created>(await api(alice, "POST", "/v1/sessions", {}), 201);
    const foreign = await expectStatus<ErrorBody>(await api(bob, "DELETE", `/v1/sessions/${session.id}`), 404);
    const missing = await expectStatus<ErrorBody>(
      await api(bob, "DELETE", "/v1/sessions/tok_000000000000000000000000"),
      404,
    );
    expect(foreign).toEqual({
      error: {
        ...missing.error,
        request_id: foreign.error.code && (foreign.error as { request_id?: string }).request_id,
      },
    });
    await expectStatus(await api(adminToken, "DELETE", `/v1/sessions/${session.id}`), 204);
  });

  it("refused revocations of another identity's session are audited (issue 9 §7); the owner's own revocation is not a denial", async () => {
    const { adminToken } = await bootstrap();
    const alice = await tokenWithRole(adminToken, "user", "user:alice@acme.com");
    const bob = await tokenWithRole(adminToken, "user", "user:bob@acme.com");
    const session = await expectStatus<Created>(await api(alice, "POST", "/v1/sessions", {}), 201);
    await expectStatus(await api(bob, "DELETE", `/v1/sessions/${session.id}`), 404);
    await expectStatus(await api(session.token, "GET", "/v1/whoami"), 200);
    type Denied = {
      items: {
        entry: { actor: { identity: string }; outcome: string; details: { session_id: string; reason: string } };
      }[];
    };
    const denied = await expectStatus<Denied>(
      await api(adminToken, "GET", "/v1/audit?type=session.revoke_denied"),
      200,
    );
    expect(
      denied.items.map((i) => [
        i.entry.actor.identity,
        i.entry.outcome,
        i.entry.details.session_id,
        i.entry.details.reason,
      ]),
    ).toEqual([["user:bob@acme.com", "denied", session.id, "not_owner"]]);
    // Positive control: alice revokes her own session; that is a session.revoked, not another denial.
    await expectStatus(await api(alice, "DELETE", `/v1/sessions/${session.id}`), 204);
    expect(
      (await expectStatus<Denied>(await api(adminToken, "GET", "/v1/audit?type=session.revoke_denied"), 200)).items,
    ).toHaveLength(1);
    expect(
      (await expectStatus<Denied>(await api(adminToken, "GET", "/v1/audit?type=session.revoked"), 200)).items,
    ).toHaveLength(1);
  });
});

describe("tokens of a tenant that was never bootstrapped", () => {
  it("get the same 401 as a revoked token", async () => {
    const res = await workerFetch(`${BASE}/v1/whoami`, {
      headers: { authorization: `Bearer gv_api_${"0".repeat(20)}_${"a".repeat(64)}` },
    });
    expect(res.status).toBe(401);
    expect(env.ENVIRONMENT).toBe("test");
  });
});
