import { z } from "zod";
import { ID_PATTERNS } from "../../core/ids";
import {
  CiLeasesSchema,
  CiRevokedSchema,
  CreatedWebhookSchema,
  CreateTrustSchema,
  CreateWebhookSchema,
  ListTrustsSchema,
  ListWebhooksSchema,
  OidcLeaseRequestSchema,
  OidcRevokeRequestSchema,
  TrustSchema,
  WebhookLeaseRequestSchema,
} from "../schemas/federation";
import type { OperationTable } from "./spec";

const ByRef = z.object({ ref: z.string().min(1).max(128) });
/** The webhook entry point's path: the tenant (to route by) and the webhook's name. */
export const WebhookParamsSchema = z.object({
  tenant: z.string().regex(ID_PATTERNS.tenant, "must be a tenant id"),
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "must be a webhook name"),
});
const tag = "ci";

/**
 * Admin management of OIDC trust policies and signed webhooks, and the CI entry points. The entry
 * points are public (they authenticate by OIDC ID token or HMAC signature, checked by the vault)
 * and hand-written in worker/routes/federation.ts: they route by a tenant named in the body or
 * path and are rate-limited per tenant before the vault is called.
 */
export const federationOperations = {
  "oidc.list": {
    role: "admin",
    method: "get",
    path: "/v1/oidc/trusts",
    tag,
    summary: "List OIDC trust policies",
    response: ListTrustsSchema,
    status: 200,
  },
  "oidc.create": {
    role: "admin",
    method: "post",
    path: "/v1/oidc/trusts",
    tag,
    summary: "Create an OIDC trust policy for CI federation",
    body: CreateTrustSchema,
    response: TrustSchema,
    status: 201,
  },
  "oidc.delete": {
    role: "admin",
    method: "delete",
    path: "/v1/oidc/trusts/:ref",
    tag,
    summary: "Delete a trust policy (by id or name)",
    params: ByRef,
    response: null,
    status: 204,
  },
  "webhooks.list": {
    role: "admin",
    method: "get",
    path: "/v1/webhooks",
    tag,
    summary: "List signed-request webhooks",
    response: ListWebhooksSchema,
    status: 200,
  },
  "webhooks.create": {
    role: "admin",
    method: "post",
    path: "/v1/webhooks",
    tag,
    summary: "Create a webhook; its signing secret is shown once",
    body: CreateWebhookSchema,
    response: CreatedWebhookSchema,
    status: 201,
  },
  "webhooks.delete": {
    role: "admin",
    method: "delete",
    path: "/v1/webhooks/:ref",
    tag,
    summary: "Delete a webhook (by id or name)",
    params: ByRef,
    response: null,
    status: 204,
  },
  "ci.oidc_lease": {
    role: null,
    method: "post",
    path: "/v1/ci/leases",
    tag,
    status: 201,
    body: OidcLeaseRequestSchema,
    response: CiLeasesSchema,
    custom: true,
    summary: "CI job: lease credentials with an OIDC ID token (GitHub Actions, GitLab CI); no vault token needed",
  },
  "ci.oidc_revoke": {
    role: null,
    method: "post",
    path: "/v1/ci/leases/revoke",
    tag,
    status: 200,
    body: OidcRevokeRequestSchema,
    response: CiRevokedSchema,
    custom: true,
    summary: "CI job's end: revoke its leases with a fresh OIDC ID token (only the token's identity's leases)",
  },
  "ci.webhook_lease": {
    role: null,
    method: "post",
    path: "/v1/ci/webhooks/:tenant/:name/leases",
    tag,
    status: 201,
    params: WebhookParamsSchema,
    body: WebhookLeaseRequestSchema,
    response: CiLeasesSchema,
    custom: true,
    summary:
      "CI job: lease credentials with an HMAC-signed request (X-Vault-Timestamp, X-Vault-Signature: sha256=<hex>)",
  },
} satisfies OperationTable;
