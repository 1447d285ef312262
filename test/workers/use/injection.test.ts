import { beforeAll, describe, expect, it } from "vitest";
import { USE_LIMITS, UseLimiter } from "../../../durable-objects/ops/use";
import { api, expectStatus } from "../helpers";
import { bodyText, OPENAI_POLICY, useCall, useWorld, type UseAnswer } from "./use-helpers";

type World = Awaited<ReturnType<typeof useWorld>>;
let w: World;
beforeAll(async () => {
  w = await useWorld();
});

async function withInject(inject: object): Promise<void> {
  await expectStatus(await api(w.adminToken, "PUT", "/v1/credentials/openai/use", { ...OPENAI_POLICY, inject }), 200);
}

describe("injection places", () => {
  it("basic: sends base64(user:value) and scrubs that token from the answer too", async () => {
    await withInject({ type: "basic", username: "api" });
    const answer = await expectStatus<UseAnswer>(
      await useCall(w.user, "openai", {
        method: "GET",
        url: "https://api.example.com/v1/echo",
        headers: { authorization: "Basic Y2FsbGVyOm93bg==" },
      }),
      200,
    );
    const seen = JSON.parse(bodyText(answer)) as { headers: Record<string, string> };
    expect(seen.headers.authorization).toBe("Basic [REDACTED:ghostvault]");
    expect(answer.scrubbed).toBe(true);
  });

  it("query: replaces the caller's parameter of that name, keeps the others", async () => {
    await withInject({ type: "query", name: "key" });
    const answer = await expectStatus<UseAnswer>(
      await useCall(w.user, "openai", { method: "GET", url: "https://api.example.com/v1/echo?key=caller-own&q=kept" }),
      200,
    );
    const seen = JSON.parse(bodyText(answer)) as { url: string; headers: Record<string, string> };
    const url = new URL(seen.url.replace("[REDACTED:ghostvault]", "REDACTED"));
    expect(url.searchParams.getAll("key")).toEqual(["REDACTED"]);
    expect(url.searchParams.get("q")).toBe("kept");
    expect(seen.headers.authorization).toBeUndefined();
  });

  it("header with a custom name: the caller's header of that name is replaced (control: Authorization header injection above)", async () => {
    await withInject({ type: "header", name: "x-api-key", template: "{value}" });
    const answer = await expectStatus<UseAnswer>(
      await useCall(w.user, "openai", {
        method: "GET",
        url: "https://api.example.com/v1/echo",
        headers: { "X-Api-Key": "caller-own" },
      }),
      200,
    );
    const seen = JSON.parse(bodyText(answer)) as { headers: Record<string, string> };
    expect(seen.headers["x-api-key"]).toBe("[REDACTED:ghostvault]");
    expect(bodyText(answer)).not.toContain("caller-own");
  });
});

describe("non-ASCII values", () => {
  it("are scrubbed from a response header the runtime hands over decoded from UTF-8 (control: an ASCII header passes)", async () => {
    const value = "sk-\u00fcn\u00efc\u00f6de-0123456789";
    await expectStatus(await api(w.adminToken, "POST", "/v1/credentials", { name: "unicode", value }), 201);
    await expectStatus(await api(w.adminToken, "PUT", "/v1/credentials/unicode/use", OPENAI_POLICY), 200);
    const answer = await expectStatus<UseAnswer>(
      await useCall(w.user, "unicode", { method: "GET", url: "https://api.example.com/v1/leak" }),
      200,
    );
    expect(answer.headers["x-echo"]).toBe("[REDACTED:ghostvault]");
    expect(answer.headers["x-plain"]).toBe("nothing secret");
    expect(JSON.stringify(answer) + bodyText(answer)).not.toContain(value);
  });
});

describe("per-minute budgets of proxied calls", () => {
  it("refuse the identity's call past its budget, fail closed for the rest of the minute, and start again in the next", () => {
    const limiter = new UseLimiter();
    const t0 = 1_000_000;
    for (let i = 0; i < USE_LIMITS.perIdentity; i++) expect(limiter.take(`cred_${i % 3}`, "agent:a", t0)).toBeNull();
    expect(limiter.take("cred_0", "agent:a", t0 + 1)).toMatch(/agent:a is over/);
    expect(limiter.take("cred_0", "agent:a", t0 + 59_999)).toMatch(/agent:a is over/);
    // Control: another identity is not affected; the next minute starts afresh.
    expect(limiter.take("cred_0", "agent:b", t0 + 1)).toBeNull();
    expect(limiter.take("cred_0", "agent:a", t0 + 60_000)).toBeNull();
  });

  it("refuse a credential's call past its budget, whoever calls", () => {
    const limiter = new UseLimiter();
    const t0 = 5_000_000;
    for (let i = 0; i < USE_LIMITS.perCredential; i++) expect(limiter.take("cred_x", `agent:${i}`, t0)).toBeNull();
    expect(limiter.take("cred_x", "agent:new", t0)).toMatch(/credential is over/);
    expect(limiter.take("cred_y", "agent:new", t0)).toBeNull();
  });
});
