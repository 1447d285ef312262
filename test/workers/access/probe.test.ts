import { describe, expect, it } from "vitest";
import { api, bootstrap, expectStatus, tokenWithRole, type ErrorBody } from "../helpers";

describe("bad input from callers who may not call the route", () => {
  it("gets 401 or 403, not the schema; the same bad input from an allowed caller gets the 400", async () => {
    const { adminToken, tenantId } = await bootstrap();
    const viewer = await tokenWithRole(adminToken, "viewer");
    const forged = `gv_api_${tenantId}_${"f".repeat(64)}`;
    const bad = { name: "x", value: "v", bogus_field: 1 };
    expect(
      (await expectStatus<ErrorBody>(await api(forged, "POST", "/v1/credentials", bad), 401)).error.message,
    ).not.toContain("bogus_field");
    expect(
      (await expectStatus<ErrorBody>(await api(viewer, "POST", "/v1/credentials", bad), 403)).error.message,
    ).not.toContain("bogus_field");
    expect(
      (await expectStatus<ErrorBody>(await api(adminToken, "POST", "/v1/credentials", bad), 400)).error.message,
    ).toContain("bogus_field");
  });
});
