
import { z } from "zod";
import { unwrapOutcome } from "../contract/rpc";
import { AclCheckQuerySchema, AclCheckSchema } from "../contract/schemas/acl";
import { CredentialRefSchema } from "../contract/schemas/credentials";
import { UsePolicySchema, UseRequestSchema, UseResponseSchema, type UseResponse } from "../contract/schemas/use";
import { bearer, readInputAsCaller, vaultCall, vaultRouter, vaultStub, type VaultRoute } from "./define";

const ByRef = z.object({ ref: CredentialRefSchema });
const tag = "use";

/** Use policies and the "who may" check: plain JSON routes. */
export const usePolicyRoutes: VaultRoute[] = [
  {
    method: "get", path: "/v1/credentials/:ref/use", tag, summary: "Get a credential's use policy (where the vault may call with it)",
    operation: "use.get", params: ByRef, response: UsePolicySchema, status: 200,
    rpc: (v, call) => v.getUsePolicy(call),
  },
  {
    method: "put", path: "/v1/credentials/:ref/use", tag, summary: "Set a credential's use policy: origins, methods, path prefixes, injection, limits",
    operation: "use.set", params: ByRef, body: UsePolicySchema, response: UsePolicySchema, status: 200,
    rpc: (v, call) => v.setUsePolicy(call),
  },
  {
    method: "delete", path: "/v1/credentials/:ref/use", tag, summary: "Remove a credential's use policy: it can no longer be used through the proxy",
    operation: "use.delete", params: ByRef, response: null, status: 204,
    rpc: (v, call) => v.deleteUsePolicy(call),
  },
  {
    method: "get", path: "/v1/credentials/:ref/acl/check", tag: "acl", summary: "What the ACL answers for an identity and a permission (lease or use), and which rule and team decide",
    operation: "acl.check", params: ByRef, query: AclCheckQuerySchema, response: AclCheckSchema, status: 200,
    rpc: (v, call) => v.checkAcl(call),
  },
];

/**
 * The credential proxy. Described like the other routes (for OpenAPI and the route walk) but served
 * by hand: its answer also carries `x-vault-scrubbed`.
 */
export const useCallRoute: VaultRoute = {
  method: "post", path: "/v1/credentials/:ref/use", tag, summary: "Call an upstream API with the credential injected; the answer never contains the value",
  operation: "use.request", params: ByRef, body: UseRequestSchema, response: UseResponseSchema, status: 200,
  rpc: (v, call) => v.useCredential(call),
};

/** Use policies, the ACL check and the proxy. */
export const use = vaultRouter(usePolicyRoutes);
use.post(useCallRoute.path, async (c) => {
  const token = bearer(c);
  const vault = vaultStub(c.env, token.tenantId);
  const input = await readInputAsCaller(c, useCallRoute, vault, token);
  const value = unwrapOutcome(await useCallRoute.rpc(vault, vaultCall(c, token, { ...input.params, body: input.body }))) as UseResponse;
  c.header("x-vault-scrubbed", String(value.scrubbed));
  return c.json(value, 200);
});

/** Every route of this file, for the OpenAPI document and route walks. */
export const useRoutes: VaultRoute[] = [...usePolicyRoutes, useCallRoute];
