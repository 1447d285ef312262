import { KekRotateResultSchema, KekStatusSchema } from "../schemas/admin";
import type { OperationTable } from "./spec";

const tag = "admin";

/** Tenant KEK status and rotation. */
export const adminOperations = {
  "kek.status": {
    role: "admin",
    method: "get",
    path: "/v1/admin/kek",
    tag,
    summary: "Tenant KEK versions and rotation sweep progress",
    response: KekStatusSchema,
    status: 200,
  },
  "kek.rotate": {
    role: "admin",
    method: "post",
    path: "/v1/admin/kek/rotate",
    tag,
    summary: "Rotate the tenant KEK; wrapped DEKs are rewrapped in the background",
    response: KekRotateResultSchema,
    status: 202,
  },
} satisfies OperationTable;
