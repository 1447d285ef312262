import { z } from "zod";
import { BootstrapResultSchema, BootstrapSchema } from "../schemas/tenants";
import type { OperationTable } from "./spec";

const tag = "system";

/**
 * Health, readiness and bootstrap: public, hand-written in worker/routes/system.ts (no tenant to
 * route by; bootstrap checks its own secret and makes the tenant id).
 */
export const systemOperations = {
  "system.health": {
    role: null,
    method: "get",
    path: "/v1/health",
    tag,
    summary: "Liveness",
    response: z.object({ ok: z.literal(true) }),
    status: 200,
    custom: true,
  },
  "system.ready": {
    role: null,
    method: "get",
    path: "/v1/ready",
    tag,
    summary: "Readiness: configuration valid and D1 reachable",
    response: z.object({ ok: z.literal(true), d1: z.literal("ok") }),
    status: 200,
    custom: true,
  },
  "system.bootstrap": {
    role: null,
    method: "post",
    path: "/v1/bootstrap",
    tag,
    status: 201,
    custom: true,
    summary: "Create a tenant and its first admin token; needs the X-Bootstrap-Secret header",
    body: BootstrapSchema,
    response: BootstrapResultSchema,
  },
} satisfies OperationTable;
