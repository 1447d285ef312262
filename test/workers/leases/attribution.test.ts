import { describe, expect, it } from "vitest";
import { api, bootstrap, expectStatus, makeToken } from "../helpers";
import { auditOfType, getLease, lease, makeCredential } from "./lease-helpers";

const AGENT = {
  name: "claude-code",
  model: "claude-opus-4",
  session: "sess-7f3a",
  tool: "run_with_credentials",
  host: "alice-laptop.local",
  client: "ghostvault-mcp",
  client_version: "0.3.1",
};

describe("lease attribution", () => {
  it("takes identity and token id from the token and stores the request's agent on the lease and its audit entry", async () => {
    const { adminToken } = await bootstrap();
    const user = await makeToken(adminToken, { role: "user", identity: "agent:claude-code@alice-laptop" });
    const cred = await makeCredential(adminToken, "attr/key", "attr-secret");
    const { lease: created } = await lease(user.token, {
      credential: "attr/key",
      ttl: "10m",
      purpose: "deploy api",
      agent: AGENT,
    });
    expect(created).toMatchObject({
      identity: "agent:claude-code@alice-laptop",
      token_id: user.id,
      agent: AGENT,
      purpose: "deploy api",
    });

    const stored = await getLease(user.token, created.id);
    expect(stored).toMatchObject({
      identity: "agent:claude-code@alice-laptop",
      token_id: user.id,
      agent: AGENT,
      purpose: "deploy api",
      credential_id: cred.id,
      credential_name: "attr/key",
      version: 1,
    });

    const entries = await auditOfType(adminToken, "lease.created");
    expect(entries).toHaveLength(1);
    const entry = entries[0]!.entry;
    expect(entry.actor).toEqual({ identity: "agent:claude-code@alice-laptop", token_id: user.id, agent: AGENT });
    expect(entry.target).toEqual({ kind: "credential", id: cred.id, version: 1 });
    expect(entry.details).toMatchObject({ lease_id: created.id, purpose: "deploy api" });
    expect(JSON.stringify(entry)).not.toContain(user.token);
    expect(JSON.stringify(entry)).not.toContain("attr-secret");
    expect(
      await expectStatus(await api(adminToken, "GET", "/v1/audit/verify?allow_unsigned_tail=true"), 200),
    ).toMatchObject({ ok: true });
  });

  it("records a lease without an agent as agent null and an actor without one", async () => {
    const { adminToken } = await bootstrap();
    const user = await makeToken(adminToken, { role: "user", identity: "service:billing" });
    await makeCredential(adminToken, "attr/plain", "v");
    const { lease: created } = await lease(user.token, { credential: "attr/plain" });
    expect(await getLease(user.token, created.id)).toMatchObject({
      identity: "service:billing",
      token_id: user.id,
      agent: null,
      purpose: null,
    });
    const [entry] = await auditOfType(adminToken, "lease.created");
    expect(entry!.entry.actor).toEqual({ identity: "service:billing", token_id: user.id });
  });

  it("refuses a request that tries to name its own identity or token (400), while the same request without them succeeds", async () => {
    const { adminToken } = await bootstrap();
    const user = await makeToken(adminToken, { role: "user", identity: "agent:honest@host" });
    await makeCredential(adminToken, "attr/spoof", "v");
    for (const extra of [
      { identity: "user:admin@acme.test" },
      { token_id: "tok_000000000000000000000000" },
      { agent: { ...AGENT, identity: "user:x@y" } },
    ]) {
      await expectStatus(await api(user.token, "POST", "/v1/leases", { credential: "attr/spoof", ...extra }), 400);
    }
    const { lease: ok } = await lease(user.token, { credential: "attr/spoof", agent: AGENT });
    expect(ok).toMatchObject({ identity: "agent:honest@host", token_id: user.id });
  });

  it("records the agent of a refused lease request in its lease.denied entry (400, not a 500)", async () => {
    const { adminToken } = await bootstrap();
    const user = await makeToken(adminToken, { role: "user", identity: "agent:claude-code@alice-laptop" });
    await makeCredential(adminToken, "attr/denied", "v", { max_ttl: "1h" });
    await expectStatus(
      await api(user.token, "POST", "/v1/leases", { credential: "attr/denied", ttl: "2h", agent: AGENT }),
      400,
    );
    const [denied] = await auditOfType(adminToken, "lease.denied");
    expect(denied!.entry.actor).toEqual({
      identity: "agent:claude-code@alice-laptop",
      token_id: user.id,
      agent: AGENT,
    });
    await lease(user.token, { credential: "attr/denied", ttl: "1h", agent: AGENT });
  });

  it("attributes renewals and revocations to the token that made them", async () => {
    const { adminToken } = await bootstrap();
    const user = await makeToken(adminToken, { role: "user", identity: "agent:holder@host" });
    const manager = await makeToken(adminToken, { role: "manager", identity: "user:oncall@acme.test" });
    await makeCredential(adminToken, "attr/ops", "v");
    const { lease: l } = await lease(user.token, { credential: "attr/ops", ttl: "10m", agent: AGENT });
    await expectStatus(await api(user.token, "POST", `/v1/leases/${l.id}/renew`, { ttl: "5m" }), 200);
    const revoked = await expectStatus<{ revoked_by: string }>(
      await api(manager.token, "DELETE", `/v1/leases/${l.id}`),
      200,
    );
    expect(revoked.revoked_by).toBe(manager.id);
    const [renewed] = await auditOfType(adminToken, "lease.renewed");
    expect(renewed!.entry.actor).toMatchObject({ identity: "agent:holder@host", token_id: user.id });
    const [revokedEntry] = await auditOfType(adminToken, "lease.revoked");
    expect(revokedEntry!.entry.actor).toMatchObject({ identity: "user:oncall@acme.test", token_id: manager.id });
    expect(revokedEntry!.entry.details).toMatchObject({ lease_id: l.id, holder: "agent:holder@host" });
  });
});
