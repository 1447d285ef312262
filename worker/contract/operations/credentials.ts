import { z } from "zod";
import { AclSchema } from "../schemas/acl";
import { CreateCredentialSchema, CredentialPageSchema, CredentialRefSchema, CredentialSchema, CredentialVersionListSchema, ListCredentialsQuerySchema, RotateCredentialSchema, UpdateCredentialSchema } from "../schemas/credentials";
import type { OperationTable } from "./spec";

const ByRef = z.object({ ref: CredentialRefSchema });
const tag = "credentials";

/** Credential CRUD and ACLs. No response here carries a value: only a lease does. */
export const credentialOperations = {
  "credentials.list": {
    role: "viewer", method: "get", path: "/v1/credentials", tag, summary: "List credentials (metadata only)",
    query: ListCredentialsQuerySchema, response: CredentialPageSchema, status: 200,
  },
  "credentials.create": {
    role: "manager", method: "post", path: "/v1/credentials", tag, summary: "Create a credential (version 1)",
    body: CreateCredentialSchema, response: CredentialSchema, status: 201,
  },
  "credentials.get": {
    role: "viewer", method: "get", path: "/v1/credentials/:ref", tag, summary: "Get a credential's metadata by id or name",
    params: ByRef, response: CredentialSchema, status: 200,
  },
  "credentials.update": {
    role: "manager", method: "patch", path: "/v1/credentials/:ref", tag, summary: "Update a credential's metadata",
    params: ByRef, body: UpdateCredentialSchema, response: CredentialSchema, status: 200,
  },
  "credentials.rotate": {
    role: "manager", method: "post", path: "/v1/credentials/:ref/rotate", tag, summary: "Rotate the value: a new version under a new DEK",
    params: ByRef, body: RotateCredentialSchema, response: CredentialSchema, status: 200,
  },
  "credentials.versions": {
    role: "viewer", method: "get", path: "/v1/credentials/:ref/versions", tag, summary: "List a credential's versions",
    params: ByRef, response: CredentialVersionListSchema, status: 200,
  },
  "acl.get": {
    role: "manager", method: "get", path: "/v1/credentials/:ref/acl", tag, summary: "A credential's access policy (ACL rules, agent visibility)",
    params: ByRef, response: AclSchema, status: 200,
  },
  "acl.set": {
    role: "manager", method: "put", path: "/v1/credentials/:ref/acl", tag, summary: "Replace a credential's access policy",
    params: ByRef, body: AclSchema, response: AclSchema, status: 200,
  },
  "credentials.delete": {
    role: "manager", method: "delete", path: "/v1/credentials/:ref", tag, summary: "Delete a credential and every stored version",
    params: ByRef, response: null, status: 204,
  },
} satisfies OperationTable;
