import { KekRotateResultSchema, KekStatusSchema } from "../contract/schemas/admin";
import { vaultRouter, type VaultRoute } from "./define";

const tag = "admin";

/** Tenant KEK status and rotation. */
export const adminRoutes: VaultRoute[] = [
  {
    method: "get", path: "/v1/admin/kek", tag, summary: "Tenant KEK versions and rotation sweep progress",
    operation: "kek.status", response: KekStatusSchema, status: 200,
    rpc: (v, call) => v.kekStatus(call),
  },
  {
    method: "post", path: "/v1/admin/kek/rotate", tag, summary: "Rotate the tenant KEK; wrapped DEKs are rewrapped in the background",
    operation: "kek.rotate", response: KekRotateResultSchema, status: 202,
    rpc: (v, call) => v.rotateKek(call),
  },
];

/** The admin router. */
export const admin = vaultRouter(adminRoutes);
