import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { OPERATIONS } from "../../../worker/contract/operations";
import { ALL_ROUTES } from "../../../worker/contract/operations";
import type { RouteDef } from "../../../worker/contract/operations";
import { OPERATOR_ROUTES } from "../../../worker/routes/operator";
import { bodyOf, label, send } from "./route-fixtures";

interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: unknown;
  [key: string]: unknown;
}
interface Parameter {
  name: string;
  in: string;
  required: boolean;
  schema: JsonSchema;
}
interface OperationDoc {
  operationId: string;
  summary: string;
  security: Record<string, string[]>[];
  "x-min-role"?: string;
  parameters?: Parameter[];
  requestBody?: { required: boolean; content: Record<string, { schema: JsonSchema }> };
  responses: Record<
    string,
    { description: string; content?: Record<string, { schema: JsonSchema | { $ref: string } }> }
  >;
}
interface OpenApiDoc {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, OperationDoc>>;
  components: {
    securitySchemes: Record<string, { type: string; scheme: string }>;
    schemas: Record<string, JsonSchema>;
  };
}

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
const openApiPath = (route: { path: string }) => route.path.replace(/:(\w+)/g, "{$1}");

/** The document as the Worker serves it, fetched without a token: it is public. */
async function fetchDoc(): Promise<OpenApiDoc> {
  const r = await send(null, "get", "/v1/openapi.json");
  expect(r.status, r.text).toBe(200);
  expect(r.headers.get("content-type")).toMatch(/^application\/json/);
  return bodyOf<OpenApiDoc>(r);
}

/** The operation documenting `route`; fails when there is none. */
function operationOf(doc: OpenApiDoc, route: RouteDef): OperationDoc {
  const op = doc.paths[openApiPath(route)]?.[route.method];
  expect(op, `${label(route)} is missing from the OpenAPI document`).toBeDefined();
  return op!;
}

describe("GET /v1/openapi.json", () => {
  it("is an OpenAPI 3.1 document with info, a bearer scheme and the error schema", async () => {
    const doc = await fetchDoc();
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(doc.info.title).toEqual(expect.any(String));
    expect(doc.info.version).toEqual(expect.any(String));
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: "http", scheme: "bearer" });
    const error = doc.components.schemas.Error!;
    expect(error.required).toEqual(["error"]);
    expect(error.properties!.error!.required!.sort()).toEqual(["code", "message", "request_id"]);
    for (const [path, item] of Object.entries(doc.paths)) {
      expect(path).toMatch(/^\/v1\//);
      for (const method of Object.keys(item)) expect(METHODS).toContain(method);
    }
  });

  // Updated when the operator routes joined the document (issue 13 §3): ALL_ROUTES and OPERATOR_ROUTES.
  it("documents exactly the routes of ALL_ROUTES and OPERATOR_ROUTES, each with its method, success status and a unique operationId", async () => {
    const doc = await fetchDoc();
    const documented = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.keys(item).map((m) => `${m} ${path}`),
    );
    expect(documented.sort()).toEqual(
      [...ALL_ROUTES, ...OPERATOR_ROUTES].map((r) => `${r.method} ${openApiPath(r)}`).sort(),
    );
    const allIds = Object.values(doc.paths).flatMap((item) => Object.values(item).map((o) => o.operationId));
    expect(new Set(allIds).size).toBe(allIds.length);
    const ids = ALL_ROUTES.map((r) => operationOf(doc, r).operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const route of ALL_ROUTES) {
      const op = operationOf(doc, route);
      expect(op.summary).toBe(route.summary);
      expect(Object.keys(op.responses), label(route)).toContain(String(route.status));
      expect(op.responses["4XX"]?.content?.["application/json"]?.schema).toEqual({
        $ref: "#/components/schemas/Error",
      });
      const success = op.responses[String(route.status)]!;
      expect(success.content === undefined, `${label(route)} success body`).toBe(route.response === null);
    }
  });

  it("gives each authenticated operation the bearer scheme and x-min-role equal to OPERATIONS[op]; public ones neither", async () => {
    const doc = await fetchDoc();
    for (const route of ALL_ROUTES) {
      const op = operationOf(doc, route);
      if (route.operation === null) {
        expect(op.security, label(route)).toEqual([]);
        expect(op["x-min-role"], label(route)).toBeUndefined();
      } else {
        expect(op.security, label(route)).toEqual([{ bearer: [] }]);
        expect(op["x-min-role"], label(route)).toBe(OPERATIONS[route.operation]);
        expect(op.operationId).toBe(route.operation);
      }
    }
  });

  it("lists every path parameter as required and every query parameter with its zod optionality", async () => {
    const doc = await fetchDoc();
    for (const route of ALL_ROUTES) {
      const params = operationOf(doc, route).parameters ?? [];
      const pathNames = [...route.path.matchAll(/:(\w+)/g)].map((m) => m[1]);
      expect(
        params
          .filter((p) => p.in === "path")
          .map((p) => p.name)
          .sort(),
        label(route),
      ).toEqual(pathNames.sort());
      for (const p of params.filter((x) => x.in === "path")) expect(p.required).toBe(true);
      const query = (route.query?.shape ?? {}) as Record<string, z.ZodType>;
      const documented = params.filter((p) => p.in === "query");
      expect(documented.map((p) => p.name).sort(), label(route)).toEqual(Object.keys(query).sort());
      for (const p of documented)
        expect(p.required, `${label(route)} ?${p.name}`).toBe(!query[p.name]!.safeParse(undefined).success);
    }
  });

  it("describes each request body from its zod schema: same fields, required iff zod requires them, no extra fields", async () => {
    const doc = await fetchDoc();
    for (const route of ALL_ROUTES) {
      const op = operationOf(doc, route);
      if (!route.body) {
        expect(op.requestBody, label(route)).toBeUndefined();
        continue;
      }
      expect(op.requestBody?.required).toBe(true);
      const schema = op.requestBody!.content["application/json"]!.schema;
      const shape = (route.body as unknown as { shape: Record<string, z.ZodType> }).shape;
      expect(schema.type).toBe("object");
      expect(Object.keys(schema.properties ?? {}).sort(), label(route)).toEqual(Object.keys(shape).sort());
      const required = Object.keys(shape).filter((k) => !shape[k]!.safeParse(undefined).success);
      expect((schema.required ?? []).sort(), label(route)).toEqual(required.sort());
      expect(schema.additionalProperties, `${label(route)} is a strict object`).toBe(false);
    }
  });

  it("says that creating a credential needs name and value (and nothing else), with the documented limits", async () => {
    const doc = await fetchDoc();
    const schema = doc.paths["/v1/credentials"]!.post!.requestBody!.content["application/json"]!.schema;
    expect(schema.required!.sort()).toEqual(["name", "value"]);
    expect(schema.properties!.name).toMatchObject({
      type: "string",
      minLength: 1,
      maxLength: 128,
      pattern: expect.any(String),
    });
    expect(schema.properties!.value).toMatchObject({ type: "string", minLength: 1 });
    const pattern = new RegExp(schema.properties!.name!.pattern as string);
    expect(pattern.test("prod/db-url")).toBe(true);
    expect(pattern.test("../x")).toBe(false);
    const tokens = doc.paths["/v1/tokens"]!.post!.requestBody!.content["application/json"]!.schema;
    expect(tokens.properties!.role).toMatchObject({ enum: ["viewer", "user", "manager", "admin"] });
  });

  it("documents the operator routes under their own operator scheme (never the tenant bearer), with bodies from their zod schemas", async () => {
    const doc = await fetchDoc();
    expect(doc.components.securitySchemes.operator).toMatchObject({ type: "http", scheme: "bearer" });
    for (const route of OPERATOR_ROUTES) {
      const op = doc.paths[openApiPath(route)]?.[route.method];
      expect(op, `${route.method} ${route.path}`).toBeDefined();
      expect(op!.security).toEqual([{ operator: [] }]);
      expect(op!["x-min-role"]).toBeUndefined();
      expect(op!.summary).toBe(route.summary);
      expect(Object.keys(op!.responses)).toContain(String(route.status));
      expect(op!.requestBody === undefined).toBe(!route.body);
    }
    const jobs = doc.paths["/v1/operator/jobs"]!.post!.requestBody!.content["application/json"]!.schema;
    expect(JSON.stringify(jobs)).toContain("rewrap_root");
    expect(JSON.stringify(jobs)).toContain("suspend");
    // Control: tenant operations keep the tenant scheme.
    expect(doc.paths["/v1/credentials"]!.post!.security).toEqual([{ bearer: [] }]);
  });
});
