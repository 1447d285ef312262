import { describe, expect, it } from "vitest";
import { signWebhook } from "../../../worker/core/federation/webhook-signature";
import { api, BASE, bootstrap, createCredential, expectStatus, workerFetch, type ErrorBody } from "../helpers";

async function post(
  path: string,
  body: string,
  headers: Record<string, string> = { "content-type": "application/json" },
) {
  return workerFetch(`${BASE}${path}`, { method: "POST", headers, body });
}

describe("bad input on the CI entry points", () => {
  it("POST /v1/ci/leases: bad JSON, media type, unknown, missing and mistyped fields, bad tenant id → 4xx with the error body", async () => {
    const { tenantId } = await bootstrap();
    const good = { tenant_id: tenantId, token: "x.y.z", credentials: ["a"] };
    const cases: [string, Record<string, string> | undefined, number, string][] = [
      ["{", undefined, 400, "invalid_json"],
      [JSON.stringify(good), { "content-type": "text/plain" }, 415, "unsupported_media_type"],
      [JSON.stringify({ ...good, bogus: 1 }), undefined, 400, "validation_failed"],
      [JSON.stringify({ ...good, token: undefined }), undefined, 400, "validation_failed"],
      [JSON.stringify({ ...good, credentials: "a" }), undefined, 400, "validation_failed"],
      [JSON.stringify({ ...good, tenant_id: "nope" }), undefined, 400, "validation_failed"],
      [JSON.stringify({ ...good, credentials: [] }), undefined, 400, "validation_failed"],
    ];
    for (const [body, headers, status, code] of cases) {
      const res = await expectStatus<ErrorBody>(await post("/v1/ci/leases", body, headers), status);
      expect(res.error.code, body).toBe(code);
      expect(res.error.request_id).toBeTruthy();
    }
    // Positive control of the shape: a well-formed request reaches the vault (and is refused there: no trust policy).
    expect((await expectStatus<ErrorBody>(await post("/v1/ci/leases", JSON.stringify(good)), 401)).error.code).toBe(
      "unauthorized",
    );
  });

  it("POST /v1/ci/webhooks/…: the signature is checked first; signed bad bodies get 400, unsigned ones 401", async () => {
    const { tenantId, adminToken } = await bootstrap();
    await createCredential(adminToken, "deploy/x");
    const { secret } = await expectStatus<{ secret: string }>(
      await api(adminToken, "POST", "/v1/webhooks", { name: "hook", credentials: ["deploy/*"] }),
      201,
    );
    const path = `/v1/ci/webhooks/${tenantId}/hook/leases`;
    const signed = async (body: string, type = "application/json") => {
      const ts = Math.floor(Date.now() / 1000);
      return post(path, body, {
        "content-type": type,
        "x-vault-timestamp": String(ts),
        "x-vault-signature": await signWebhook(secret, ts, body),
      });
    };
    expect((await expectStatus<ErrorBody>(await signed("{"), 400)).error.code).toBe("invalid_json");
    expect(
      (await expectStatus<ErrorBody>(await signed(JSON.stringify({ credentials: ["deploy/x"], bogus: 1 })), 400)).error
        .message,
    ).toContain("bogus");
    expect(
      (await expectStatus<ErrorBody>(await signed(JSON.stringify({ credentials: "deploy/x" })), 400)).error.code,
    ).toBe("validation_failed");
    expect(
      (await expectStatus<ErrorBody>(await signed(JSON.stringify({ credentials: ["deploy/x"] }), "text/plain"), 415))
        .error.code,
    ).toBe("unsupported_media_type");
    expect((await expectStatus<ErrorBody>(await post(path, "{"), 401)).error.code).toBe("unauthorized");
    expect(
      (await expectStatus<ErrorBody>(await post(`/v1/ci/webhooks/not-a-tenant/hook/leases`, "{}"), 400)).error.code,
    ).toBe("validation_failed");
    await expectStatus(await signed(JSON.stringify({ credentials: ["deploy/x"] })), 201);
  });
});
