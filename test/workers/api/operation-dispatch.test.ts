import { env, runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { vaultStub } from "../../../worker/routes/define";
import { api, BASE, bootstrap, expectStatus, tokenWithRole, workerFetch, type ErrorBody } from "../helpers";

/**
 * The one RPC entry `TenantVault.op(name, call)` (docs/architecture.md "Operations: one declaration
 * each"): the vault validates every part of a request, the body the Worker could not read and the
 * Idempotency-Key included, only after authenticating and authorising; an RPC caller cannot name
 * an operation outside the table, nor bypass validation by skipping the Worker.
 */

let tenantId: string;
let admin: string;
let viewer: string;
let manager: string;
beforeAll(async () => {
  ({ tenantId, adminToken: admin } = await bootstrap("dispatch"));
  viewer = await tokenWithRole(admin, "viewer");
  manager = await tokenWithRole(admin, "manager");
});

const forged = () => `${admin.slice(0, -1)}${admin.endsWith("0") ? "1" : "0"}`;
const auditCount = () =>
  runInDurableObject(
    vaultStub(env, tenantId),
    (_o, state) => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM audit").one().n,
  );

/** POST /v1/credentials with a raw body, content type and extra headers. */
function post(
  token: string,
  body: string,
  contentType = "application/json",
  headers: Record<string, string> = {},
): Promise<Response> {
  return workerFetch(`${BASE}/v1/credentials`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": contentType, ...headers },
    body,
  });
}

const codeOf = async (res: Response, status: number) => (await expectStatus<ErrorBody>(res, status)).error;

describe("a body the Worker cannot read is reported only to a caller who may call the operation", () => {
  it("not JSON: 401 for an unknown token, 403 below the role, 400 invalid_json for a manager (control)", async () => {
    expect((await codeOf(await post(forged(), "{not json"), 401)).code).toBe("unauthorized");
    expect((await codeOf(await post(viewer, "{not json"), 403)).code).toBe("forbidden");
    expect((await codeOf(await post(manager, "{not json"), 400)).code).toBe("invalid_json");
  });

  it("not sent as JSON: 401 for an unknown token, 403 below the role, 415 for a manager (control)", async () => {
    const body = JSON.stringify({ name: "dispatch/plain", value: "v" });
    expect((await codeOf(await post(forged(), body, "text/plain"), 401)).code).toBe("unauthorized");
    expect((await codeOf(await post(viewer, body, "text/plain"), 403)).code).toBe("forbidden");
    expect((await codeOf(await post(manager, body, "text/plain"), 415)).code).toBe("unsupported_media_type");
    await expectStatus(await api(manager, "GET", "/v1/credentials/dispatch%2Fplain"), 404);
  });

  it("a malformed Idempotency-Key: 401 for an unknown token, 400 naming the header for a manager; a good key acts (control)", async () => {
    const body = JSON.stringify({ name: "dispatch/keyed", value: "v" });
    const bad = { "idempotency-key": "k".repeat(129) };
    expect((await codeOf(await post(forged(), body, "application/json", bad), 401)).code).toBe("unauthorized");
    const refused = await codeOf(await post(manager, body, "application/json", bad), 400);
    expect(refused).toMatchObject({ code: "validation_failed", message: expect.stringContaining("Idempotency-Key") });
    await expectStatus(await api(manager, "GET", "/v1/credentials/dispatch%2Fkeyed"), 404);
    await expectStatus(await post(manager, body, "application/json", { "idempotency-key": "dispatch-1" }), 201);
  });
});

describe("the RPC entry itself", () => {
  it("refuses a name outside the operation table before anything runs or is recorded (control: a table name runs)", async () => {
    const vault = vaultStub(env, tenantId);
    const call = { token: admin, requestId: "rpc-names", input: null };
    const before = await auditCount();
    for (const name of ["constructor", "__proto__", "toString", "leases.seed", "system.bootstrap", "checkAccess"]) {
      // @ts-expect-error: not an operation name; the RPC boundary sees any string a caller sends.
      expect(await vault.op(name, call), name).toEqual({
        ok: false,
        error: { code: "bad_request", message: "unknown operation" },
      });
    }
    expect(await auditCount()).toBe(before);
    expect(await vault.op("whoami", call)).toMatchObject({ ok: true, value: { role: "admin" } });
  });

  it("validates input sent straight to the object, bypassing the Worker: 400 naming the field, nothing stored (control: valid input creates)", async () => {
    const vault = vaultStub(env, tenantId);
    const call = (input: unknown) => ({ token: manager, requestId: "rpc-input", input: input as { body: unknown } });
    const bad = await vault.op(
      "credentials.create",
      call({ body: { name: "dispatch/rpc", value: "v", bogus_field: 1 } }),
    );
    expect(bad).toMatchObject({
      ok: false,
      error: { code: "validation_failed", message: expect.stringContaining("bogus_field") },
    });
    const badPath = await vault.op("credentials.get", call({ params: { ref: "x".repeat(300) } }));
    expect(badPath).toMatchObject({
      ok: false,
      error: { code: "validation_failed", message: expect.stringContaining("path") },
    });
    // A body error outside the closed set is still a 4xx the caller cannot choose.
    const chosen = await vault.op("credentials.create", call({ bodyError: "internal" }));
    expect(chosen).toMatchObject({ ok: false, error: { code: "unsupported_media_type" } });
    await expectStatus(await api(manager, "GET", "/v1/credentials/dispatch%2Frpc"), 404);
    expect(await vault.op("credentials.create", call({ body: { name: "dispatch/rpc", value: "v" } }))).toMatchObject({
      ok: true,
      value: { name: "dispatch/rpc" },
    });
  });
});
