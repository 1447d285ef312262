import { beforeAll, describe, expect, it } from "vitest";
import { api, expectStatus, tokenWithRole } from "../helpers";
import { auditOfType } from "../leases/lease-helpers";
import { encodingsOf } from "../support/use-upstream";
import { bodyText, OPENAI_POLICY, useCall, useWorld, VALUE, type UseAnswer } from "./use-helpers";

type World = Awaited<ReturnType<typeof useWorld>>;
let w: World;
beforeAll(async () => {
  w = await useWorld();
});

const echo = (over: object = {}) => ({
  method: "POST",
  url: "https://api.example.com/v1/echo",
  headers: { "content-type": "application/json" },
  body: "{}",
  ...over,
});

describe("the credential proxy injects the value and hides it", () => {
  it("injects the header, replaces a caller's Authorization and drops cookies and hop-by-hop headers", async () => {
    const res = await useCall(
      w.user,
      "openai",
      echo({ headers: { authorization: "Bearer caller-own", cookie: "s=1", connection: "close", "x-trace": "t1" } }),
    );
    const answer = await expectStatus<UseAnswer>(res, 200);
    const seen = JSON.parse(bodyText(answer)) as { headers: Record<string, string>; body: string; method: string };
    // The upstream saw the vault's value (scrubbed on the way back), never the caller's.
    expect(seen.headers.authorization).toBe("Bearer [REDACTED:ghostvault]");
    expect(JSON.stringify(seen)).not.toContain("caller-own");
    expect(seen.headers.cookie).toBeUndefined();
    expect(seen.headers["x-trace"]).toBe("t1");
    expect(seen.method).toBe("POST");
    expect(seen.body).toBe("{}");
    expect(answer.scrubbed).toBe(true);
    expect(res.headers.get("x-vault-scrubbed")).toBe("true");
  });

  it("scrubs a value the upstream echoes back raw and base64, base64url, hex (both cases) and URL-encoded, in headers and body", async () => {
    const forms = encodingsOf(VALUE);
    expect(new Set(Object.values(forms)).size).toBe(6);
    const answer = await expectStatus<UseAnswer>(
      await useCall(w.user, "openai", { method: "GET", url: "https://api.example.com/v1/leak" }),
      200,
    );
    const text = bodyText(answer);
    for (const [name, form] of Object.entries(forms)) {
      expect(text, name).not.toContain(form);
      expect(JSON.stringify(answer.headers), name).not.toContain(form);
    }
    // Positive control: the fields are there, each replaced by the marker, and unrelated headers pass.
    expect(JSON.parse(text)).toEqual(Object.fromEntries(Object.keys(forms).map((k) => [k, "[REDACTED:ghostvault]"])));
    expect(answer.headers["x-echo"]).toBe("[REDACTED:ghostvault]");
    expect(answer.headers["x-plain"]).toBe("nothing secret");
  });

  it("answers scrubbed: false when the upstream never mentions the value", async () => {
    const answer = await expectStatus<UseAnswer>(
      await useCall(w.user, "openai", { method: "GET", url: "https://api.example.com/v1/status?code=204" }),
      200,
    );
    expect(answer).toMatchObject({ status: 204, scrubbed: false, body_base64: "" });
  });

  it("returns a redirect to another origin instead of following it", async () => {
    const answer = await expectStatus<UseAnswer>(
      await useCall(w.user, "openai", { method: "GET", url: "https://api.example.com/v1/redirect" }),
      200,
    );
    expect(answer.status).toBe(302);
    expect(answer.headers.location).toBe("https://elsewhere.example.net/steal");
  });

  it("records credential.used with origin, method, path and sizes, never the query or the value", async () => {
    await expectStatus(
      await useCall(
        w.user,
        "openai",
        echo({
          url: "https://api.example.com/v1/echo?q=private-query-value",
          purpose: "summarise",
          agent: { name: "bot" },
        }),
      ),
      200,
    );
    const entries = await auditOfType(w.adminToken, "credential.used");
    const entry = entries.find((e) => JSON.stringify(e).includes("summarise"))?.entry;
    expect(entry).toBeDefined();
    expect(entry).toMatchObject({
      actor: { identity: "agent:bot", agent: { name: "bot" } },
      details: { origin: "https://api.example.com", method: "POST", path: "/v1/echo", status: 200, bytes_sent: 2 },
    });
    const all = JSON.stringify(await expectStatus(await api(w.adminToken, "GET", "/v1/audit?limit=1000"), 200));
    expect(all).not.toContain("private-query-value");
    for (const form of Object.values(encodingsOf(VALUE))) expect(all).not.toContain(form);
  });
});

describe("the credential proxy refuses what the policy does not allow", () => {
  it.each([
    ["another origin", echo({ url: "https://evil.example.net/v1/echo" })],
    ["a sub-domain of the origin", echo({ url: "https://x.api.example.com/v1/echo" })],
    ["another port", echo({ url: "https://api.example.com:8443/v1/echo" })],
    ["http", echo({ url: "http://api.example.com/v1/echo" })],
    ["a method outside the policy", echo({ method: "DELETE", body: undefined })],
    ["a path outside the prefixes", echo({ url: "https://api.example.com/admin/echo" })],
    ["a path escaping the prefix with dot segments", echo({ url: "https://api.example.com/v1/../admin" })],
  ])("refuses %s with 403 use_denied, audited", async (_name, body) => {
    const before = (await auditOfType(w.adminToken, "credential.use_denied")).length;
    const res = await useCall(w.user, "openai", body);
    expect((await expectStatus<{ error: { code: string } }>(res, 403)).error.code).toBe("use_denied");
    expect((await auditOfType(w.adminToken, "credential.use_denied")).length).toBe(before + 1);
    // Positive control: the policy's own origin, method and path.
    await expectStatus(await useCall(w.user, "openai", echo()), 200);
  });

  it("refuses a viewer (403 forbidden, like every role refusal, recorded as access.denied), and lets a user through", async () => {
    const viewer = await tokenWithRole(w.adminToken, "viewer", "user:viewer@acme.test");
    const before = (await auditOfType(w.adminToken, "access.denied")).length;
    expect(
      (await expectStatus<{ error: { code: string } }>(await useCall(viewer, "openai", echo()), 403)).error.code,
    ).toBe("forbidden");
    expect((await auditOfType(w.adminToken, "access.denied")).length).toBe(before + 1);
    await expectStatus(await useCall(w.user, "openai", echo()), 200);
  });

  it("refuses a credential without a use policy, and allows it once one is set", async () => {
    await expectStatus(
      await api(w.adminToken, "POST", "/v1/credentials", { name: "nopolicy", value: "another-secret-value" }),
      201,
    );
    expect(
      (await expectStatus<{ error: { code: string } }>(await useCall(w.user, "nopolicy", echo()), 403)).error.code,
    ).toBe("use_denied");
    await expectStatus(await api(w.adminToken, "PUT", "/v1/credentials/nopolicy/use", OPENAI_POLICY), 200);
    await expectStatus(await useCall(w.user, "nopolicy", echo()), 200);
    await expectStatus(await api(w.adminToken, "DELETE", "/v1/credentials/nopolicy/use"), 204);
    expect(
      (await expectStatus<{ error: { code: string } }>(await useCall(w.user, "nopolicy", echo()), 403)).error.code,
    ).toBe("use_denied");
  });

  it("refuses a request body over max_request_bytes with 413, and passes one at the limit", async () => {
    expect(
      (
        await expectStatus<{ error: { code: string } }>(
          await useCall(w.user, "openai", echo({ body: "x".repeat(1025) })),
          413,
        )
      ).error.code,
    ).toBe("payload_too_large");
    await expectStatus(await useCall(w.user, "openai", echo({ body: "x".repeat(1024) })), 200);
  });

  it("answers 502 for a response over max_response_bytes, and passes one at the limit", async () => {
    expect(
      (
        await expectStatus<{ error: { code: string } }>(
          await useCall(w.user, "openai", { method: "GET", url: "https://api.example.com/v1/big?bytes=4097" }),
          502,
        )
      ).error.code,
    ).toBe("upstream_error");
    const ok = await expectStatus<UseAnswer>(
      await useCall(w.user, "openai", { method: "GET", url: "https://api.example.com/v1/big?bytes=4096" }),
      200,
    );
    expect(bodyText(ok).length).toBe(4096);
  });

  it("answers 502 for a response that breaks off and 504 for one past the timeout, each recorded", async () => {
    expect(
      (
        await expectStatus<{ error: { code: string } }>(
          await useCall(w.user, "openai", { method: "GET", url: "https://api.example.com/v1/broken" }),
          502,
        )
      ).error.code,
    ).toBe("upstream_error");
    expect(
      (
        await expectStatus<{ error: { code: string } }>(
          await useCall(w.user, "openai", { method: "GET", url: "https://api.example.com/v1/slow" }),
          504,
        )
      ).error.code,
    ).toBe("upstream_timeout");
    const codes = (await auditOfType(w.adminToken, "credential.used")).map(
      (e) => (e.entry.details as { code: string | null }).code,
    );
    expect(codes).toEqual(expect.arrayContaining(["upstream_error", "upstream_timeout", null]));
    // An upstream error status is the upstream's answer, passed on.
    expect(
      (
        await expectStatus<UseAnswer>(
          await useCall(w.user, "openai", { method: "GET", url: "https://api.example.com/v1/status?code=500" }),
          200,
        )
      ).status,
    ).toBe(500);
  });
});

describe("bounded requests", () => {
  it("refuses more than 64 caller headers with a 400 naming them, and makes no call (control: 64 pass)", async () => {
    const many = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`x-h${i}`, "v"]));
    const before = (await auditOfType(w.adminToken, "credential.used")).length;
    const refused = await expectStatus<{ error: { code: string; message: string } }>(
      await useCall(w.user, "openai", echo({ headers: many(65) })),
      400,
    );
    expect(refused.error.code).toBe("validation_failed");
    expect(refused.error.message).toContain("at most 64 headers");
    expect(await auditOfType(w.adminToken, "credential.used")).toHaveLength(before);
    await expectStatus<UseAnswer>(await useCall(w.user, "openai", echo({ headers: many(64) })), 200);
  });
});
