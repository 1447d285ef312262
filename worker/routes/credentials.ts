import { z } from "zod";
import { CredentialRefSchema, CredentialPageSchema, CredentialSchema, CredentialVersionListSchema, CreateCredentialSchema, ListCredentialsQuerySchema, RotateCredentialSchema, UpdateCredentialSchema } from "../contract/schemas/credentials";
import { AclSchema } from "../contract/schemas/acl";
import { vaultRouter, type VaultRoute } from "./define";

const ByRef = z.object({ ref: CredentialRefSchema });
const tag = "credentials";

/** Credential CRUD. No response here carries a value: only a lease does. */
export const credentialRoutes: VaultRoute[] = [
  {
    method: "get", path: "/v1/credentials", tag, summary: "List credentials (metadata only)",
    operation: "credentials.list", query: ListCredentialsQuerySchema, response: CredentialPageSchema, status: 200,
    rpc: (v, call) => v.listCredentials(call),
  },
  {
    method: "post", path: "/v1/credentials", tag, summary: "Create a credential (version 1)",
    operation: "credentials.create", body: CreateCredentialSchema, response: CredentialSchema, status: 201,
    rpc: (v, call) => v.createCredential(call),
  },
  {
    method: "get", path: "/v1/credentials/:ref", tag, summary: "Get a credential's metadata by id or name",
    operation: "credentials.get", params: ByRef, response: CredentialSchema, status: 200,
    rpc: (v, call) => v.getCredential(call),
  },
  {
    method: "patch", path: "/v1/credentials/:ref", tag, summary: "Update a credential's metadata",
    operation: "credentials.update", params: ByRef, body: UpdateCredentialSchema, response: CredentialSchema, status: 200,
    rpc: (v, call) => v.updateCredential(call),
  },
  {
    method: "post", path: "/v1/credentials/:ref/rotate", tag, summary: "Rotate the value: a new version under a new DEK",
    operation: "credentials.rotate", params: ByRef, body: RotateCredentialSchema, response: CredentialSchema, status: 200,
    rpc: (v, call) => v.rotateCredential(call),
  },
  {
    method: "get", path: "/v1/credentials/:ref/versions", tag, summary: "List a credential's versions",
    operation: "credentials.versions", params: ByRef, response: CredentialVersionListSchema, status: 200,
    rpc: (v, call) => v.listCredentialVersions(call),
  },
  {
    method: "get", path: "/v1/credentials/:ref/acl", tag, summary: "A credential's access policy (ACL rules, agent visibility)",
    operation: "acl.get", params: ByRef, response: AclSchema, status: 200,
    rpc: (v, call) => v.getAcl(call),
  },
  {
    method: "put", path: "/v1/credentials/:ref/acl", tag, summary: "Replace a credential's access policy",
    operation: "acl.set", params: ByRef, body: AclSchema, response: AclSchema, status: 200,
    rpc: (v, call) => v.setAcl(call),
  },
  {
    method: "delete", path: "/v1/credentials/:ref", tag, summary: "Delete a credential and every stored version",
    operation: "credentials.delete", params: ByRef, response: null, status: 204,
    rpc: (v, call) => v.deleteCredential(call),
  },
];

/** The credentials router. */
export const credentials = vaultRouter(credentialRoutes);
