import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { ERROR_STATUS } from "../contract/errors";
import { IdempotencyKeySchema } from "../contract/rpc";
import { ErrorBodySchema } from "../contract/schemas/common";
import type { OperationSpec, RouteDef } from "../contract/operations";

const jsonSchema = (schema: z.ZodType, io: "input" | "output") =>
  z.toJSONSchema(schema, { io, unrepresentable: "any" });

/** How a route is authenticated in the document: a tenant token, an operator token, or not at all. */
type Auth = "bearer" | "operator" | null;

function operation(def: OperationSpec & { operation?: string | null }, auth: Auth) {
  const errorRef = {
    description: "error",
    content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
  };
  const parameters = [
    ...Object.keys(def.params?.shape ?? {}).map((name) => ({
      name,
      in: "path",
      required: true,
      schema: jsonSchema(def.params!.shape[name] as z.ZodType, "input"),
    })),
    ...Object.entries(def.query?.shape ?? {}).map(([name, schema]) => ({
      name,
      in: "query",
      required: !(schema as z.ZodType).safeParse(undefined).success,
      schema: jsonSchema(schema as z.ZodType, "input"),
    })),
    // Honoured on every authenticated POST (worker/routes/define.ts callOperation, durable-objects/idempotency.ts).
    ...(def.operation && def.method === "post"
      ? [
          {
            name: "Idempotency-Key",
            in: "header",
            required: false,
            description: "retries with the same key and body act once (24 h, per token)",
            schema: jsonSchema(IdempotencyKeySchema, "input"),
          },
        ]
      : []),
  ];
  return {
    summary: def.summary,
    tags: [def.tag],
    operationId:
      def.operation ?? `${def.method}${def.path.replace(/[/:]+(\w)/g, (_m, ch: string) => ch.toUpperCase())}`,
    ...(auth === "bearer" ? { security: [{ bearer: [] }], "x-min-role": def.role } : {}),
    ...(auth === "operator" ? { security: [{ operator: [] }] } : {}),
    ...(auth === null ? { security: [] } : {}),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(def.body
      ? { requestBody: { required: true, content: { "application/json": { schema: jsonSchema(def.body, "input") } } } }
      : {}),
    responses: {
      [def.status]: def.response
        ? { description: "success", content: { "application/json": { schema: jsonSchema(def.response, "output") } } }
        : { description: "success, no body" },
      ...(def.accepted
        ? {
            [def.accepted.status]: {
              description: "accepted: held for approval, no value",
              content: { "application/json": { schema: jsonSchema(def.accepted.response, "output") } },
            },
          }
        : {}),
      "4XX": errorRef,
      "5XX": errorRef,
    },
  };
}

/**
 * The OpenAPI 3.1 document, generated from the operation table and the zod schemas the vault
 * validates with; operator routes (worker/routes/operator.ts) under their own security scheme,
 * since an operator token is never a tenant token and vice versa.
 */
export function openApiDocument(routes: readonly RouteDef[], operatorRoutes: readonly OperationSpec[] = []) {
  const paths: Record<string, Record<string, unknown>> = {};
  const add = (def: OperationSpec & { operation?: string | null }, auth: Auth) => {
    (paths[def.path.replace(/:(\w+)/g, "{$1}")] ??= {})[def.method] = operation(def, auth);
  };
  for (const def of routes) add(def, def.operation ? "bearer" : null);
  for (const def of operatorRoutes) add(def, "operator");
  return {
    openapi: "3.1.0",
    info: { title: "Vault API", version: "1", description: `Error codes: ${Object.keys(ERROR_STATUS).join(", ")}` },
    components: {
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "gv_api_<tenant>_<secret> or a session token" },
        operator: {
          type: "http",
          scheme: "bearer",
          description: "an operator token (gvop_root_<secret> or a named one); never a tenant token",
        },
      },
      schemas: { Error: jsonSchema(ErrorBodySchema, "output") },
    },
    paths,
  };
}

/** Serves /v1/openapi.json. */
export function openApiRouter(routes: readonly RouteDef[], operatorRoutes: readonly OperationSpec[] = []) {
  const doc = openApiDocument(routes, operatorRoutes);
  return new Hono<AppEnv>().get("/v1/openapi.json", (c) => c.json(doc));
}
