import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { ERROR_STATUS } from "../contract/errors";
import { IdempotencyKeySchema } from "../contract/rpc";
import { ErrorBodySchema } from "../contract/schemas/common";
import type { RouteDef } from "../contract/operations";

const jsonSchema = (schema: z.ZodType, io: "input" | "output") =>
  z.toJSONSchema(schema, { io, unrepresentable: "any" });

function operation(def: RouteDef) {
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
    ...(def.operation ? { security: [{ bearer: [] }], "x-min-role": def.role } : { security: [] }),
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

/** The OpenAPI 3.1 document, generated from the operation table and the zod schemas the vault validates with. */
export function openApiDocument(routes: readonly RouteDef[]) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const def of routes) {
    const path = def.path.replace(/:(\w+)/g, "{$1}");
    (paths[path] ??= {})[def.method] = operation(def);
  }
  return {
    openapi: "3.1.0",
    info: { title: "Vault API", version: "1", description: `Error codes: ${Object.keys(ERROR_STATUS).join(", ")}` },
    components: {
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "gv_api_<tenant>_<secret> or a session token" },
      },
      schemas: { Error: jsonSchema(ErrorBodySchema, "output") },
    },
    paths,
  };
}

/** Serves /v1/openapi.json. */
export function openApiRouter(routes: readonly RouteDef[]) {
  const doc = openApiDocument(routes);
  return new Hono<AppEnv>().get("/v1/openapi.json", (c) => c.json(doc));
}
