import { z } from "zod";
import { TokenIdSchema } from "../schemas/common";
import { CreateSessionSchema } from "../schemas/sessions";
import {
  CreatedTokenSchema,
  CreateTokenSchema,
  ListTokensQuerySchema,
  TokenPageSchema,
  TokenSchema,
  WhoamiSchema,
} from "../schemas/tokens";
import type { OperationTable } from "./spec";

const ById = z.object({ id: TokenIdSchema });
const tag = "tokens";

/** whoami, API tokens and sessions. */
export const tokenOperations = {
  whoami: {
    role: "viewer",
    method: "get",
    path: "/v1/whoami",
    tag,
    summary: "Who the presented token is",
    response: WhoamiSchema,
    status: 200,
  },
  "tokens.list": {
    role: "admin",
    method: "get",
    path: "/v1/tokens",
    tag,
    summary: "List API tokens (never the tokens themselves)",
    query: ListTokensQuerySchema,
    response: TokenPageSchema,
    status: 200,
  },
  "tokens.create": {
    role: "admin",
    method: "post",
    path: "/v1/tokens",
    tag,
    summary: "Create an API token; the token is shown once",
    body: CreateTokenSchema,
    response: CreatedTokenSchema,
    status: 201,
  },
  "tokens.get": {
    role: "admin",
    method: "get",
    path: "/v1/tokens/:id",
    tag,
    summary: "Get a token's metadata",
    params: ById,
    response: TokenSchema,
    status: 200,
  },
  "tokens.revoke": {
    role: "admin",
    method: "delete",
    path: "/v1/tokens/:id",
    tag,
    summary: "Revoke a token, effective on its next use",
    params: ById,
    response: null,
    status: 204,
  },
  "sessions.create": {
    role: "viewer",
    method: "post",
    path: "/v1/sessions",
    tag,
    summary: "Exchange an API token for a short-lived session token (shown once)",
    body: CreateSessionSchema,
    response: CreatedTokenSchema,
    status: 201,
  },
  "sessions.revoke": {
    role: "viewer",
    method: "delete",
    path: "/v1/sessions/:id",
    tag,
    summary: "End a session (its own token, its API token, or an admin)",
    params: ById,
    response: null,
    status: 204,
  },
} satisfies OperationTable;
