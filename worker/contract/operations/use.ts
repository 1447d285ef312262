import { z } from "zod";
import { AclCheckQuerySchema, AclCheckSchema } from "../schemas/acl";
import { CredentialRefSchema } from "../schemas/credentials";
import { UsePolicySchema, UseRequestSchema, UseResponseSchema } from "../schemas/use";
import type { OperationTable } from "./spec";

const ByRef = z.object({ ref: CredentialRefSchema });
const tag = "use";

/** Use policies, the credential proxy and the "who may" check. */
export const useOperations = {
  "use.get": {
    role: "viewer",
    method: "get",
    path: "/v1/credentials/:ref/use",
    tag,
    summary: "Get a credential's use policy (where the vault may call with it)",
    params: ByRef,
    response: UsePolicySchema,
    status: 200,
  },
  "use.set": {
    role: "manager",
    method: "put",
    path: "/v1/credentials/:ref/use",
    tag,
    summary: "Set a credential's use policy: origins, methods, path prefixes, injection, limits",
    params: ByRef,
    body: UsePolicySchema,
    response: UsePolicySchema,
    status: 200,
  },
  "use.delete": {
    role: "manager",
    method: "delete",
    path: "/v1/credentials/:ref/use",
    tag,
    summary: "Remove a credential's use policy: it can no longer be used through the proxy",
    params: ByRef,
    response: null,
    status: 204,
  },
  "acl.check": {
    role: "manager",
    method: "get",
    path: "/v1/credentials/:ref/acl/check",
    tag: "acl",
    summary: "What the ACL answers for an identity and a permission (lease or use), and which rule and team decide",
    params: ByRef,
    query: AclCheckQuerySchema,
    response: AclCheckSchema,
    status: 200,
  },
  // Custom: its answer also carries the `x-vault-scrubbed` header (worker/routes/use.ts).
  "use.request": {
    role: "user",
    method: "post",
    path: "/v1/credentials/:ref/use",
    tag,
    summary: "Call an upstream API with the credential injected; the answer never contains the value",
    params: ByRef,
    body: UseRequestSchema,
    response: UseResponseSchema,
    status: 200,
    custom: true,
  },
} satisfies OperationTable;
