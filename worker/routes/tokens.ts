import { z } from "zod";
import { TokenIdSchema } from "../contract/schemas/common";
import { CreatedTokenSchema, CreateTokenSchema, ListTokensQuerySchema, TokenPageSchema, TokenSchema, WhoamiSchema } from "../contract/schemas/tokens";
import { CreateSessionSchema } from "../contract/schemas/sessions";
import { vaultRouter, type VaultRoute } from "./define";

const ById = z.object({ id: TokenIdSchema });
const tag = "tokens";

/** whoami and API token management. */
export const tokenRoutes: VaultRoute[] = [
  {
    method: "get", path: "/v1/whoami", tag, summary: "Who the presented token is",
    operation: "whoami", response: WhoamiSchema, status: 200,
    rpc: (v, call) => v.whoami(call),
  },
  {
    method: "get", path: "/v1/tokens", tag, summary: "List API tokens (never the tokens themselves)",
    operation: "tokens.list", query: ListTokensQuerySchema, response: TokenPageSchema, status: 200,
    rpc: (v, call) => v.listTokens(call),
  },
  {
    method: "post", path: "/v1/tokens", tag, summary: "Create an API token; the token is shown once",
    operation: "tokens.create", body: CreateTokenSchema, response: CreatedTokenSchema, status: 201,
    rpc: (v, call) => v.createToken(call),
  },
  {
    method: "get", path: "/v1/tokens/:id", tag, summary: "Get a token's metadata",
    operation: "tokens.get", params: ById, response: TokenSchema, status: 200,
    rpc: (v, call) => v.getToken(call),
  },
  {
    method: "delete", path: "/v1/tokens/:id", tag, summary: "Revoke a token, effective on its next use",
    operation: "tokens.revoke", params: ById, response: null, status: 204,
    rpc: (v, call) => v.revokeToken(call),
  },
  {
    method: "post", path: "/v1/sessions", tag, summary: "Exchange an API token for a short-lived session token (shown once)",
    operation: "sessions.create", body: CreateSessionSchema, response: CreatedTokenSchema, status: 201,
    rpc: (v, call) => v.createSession(call),
  },
  {
    method: "delete", path: "/v1/sessions/:id", tag, summary: "End a session (its own token, its API token, or an admin)",
    operation: "sessions.revoke", params: ById, response: null, status: 204,
    rpc: (v, call) => v.revokeSession(call),
  },
];

/** The tokens router. */
export const tokens = vaultRouter(tokenRoutes);
