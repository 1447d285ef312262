import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { VaultError } from "../contract/errors";
import { ID_PATTERNS } from "../core/ids";
import { unwrapOutcome } from "../contract/rpc";
import { CiLeasesSchema, CiRevokedSchema, CreatedWebhookSchema, CreateTrustSchema, CreateWebhookSchema, ListTrustsSchema, ListWebhooksSchema, OidcLeaseRequestSchema, OidcRevokeRequestSchema, TrustSchema, WebhookLeaseRequestSchema } from "../contract/schemas/federation";
import { limitCiTenant } from "../middleware/rate-limit";
import { readInput, respond, vaultRouter, vaultStub, type RouteDef, type VaultRoute } from "./define";

const ByRef = z.object({ ref: z.string().min(1).max(128) });
const tag = "ci";

/** Admin management of OIDC trust policies and signed webhooks. */
export const federationRoutes: VaultRoute[] = [
  { method: "get", path: "/v1/oidc/trusts", tag, summary: "List OIDC trust policies", operation: "oidc.list", response: ListTrustsSchema, status: 200, rpc: (v, c) => v.listTrusts(c) },
  { method: "post", path: "/v1/oidc/trusts", tag, summary: "Create an OIDC trust policy for CI federation", operation: "oidc.create", body: CreateTrustSchema, response: TrustSchema, status: 201, rpc: (v, c) => v.createTrust(c) },
  { method: "delete", path: "/v1/oidc/trusts/:ref", tag, summary: "Delete a trust policy (by id or name)", operation: "oidc.delete", params: ByRef, response: null, status: 204, rpc: (v, c) => v.deleteTrust(c) },
  { method: "get", path: "/v1/webhooks", tag, summary: "List signed-request webhooks", operation: "webhooks.list", response: ListWebhooksSchema, status: 200, rpc: (v, c) => v.listWebhooks(c) },
  { method: "post", path: "/v1/webhooks", tag, summary: "Create a webhook; its signing secret is shown once", operation: "webhooks.create", body: CreateWebhookSchema, response: CreatedWebhookSchema, status: 201, rpc: (v, c) => v.createWebhook(c) },
  { method: "delete", path: "/v1/webhooks/:ref", tag, summary: "Delete a webhook (by id or name)", operation: "webhooks.delete", params: ByRef, response: null, status: 204, rpc: (v, c) => v.deleteWebhook(c) },
];

const oidcLease: RouteDef = {
  method: "post", path: "/v1/ci/leases", tag, operation: null, status: 201, body: OidcLeaseRequestSchema, response: CiLeasesSchema,
  summary: "CI job: lease credentials with an OIDC ID token (GitHub Actions, GitLab CI); no vault token needed",
};
const oidcRevoke: RouteDef = {
  method: "post", path: "/v1/ci/leases/revoke", tag, operation: null, status: 200, body: OidcRevokeRequestSchema, response: CiRevokedSchema,
  summary: "CI job's end: revoke its leases with a fresh OIDC ID token (only the token's identity's leases)",
};
const WebhookParams = z.object({ tenant: z.string().regex(ID_PATTERNS.tenant, "must be a tenant id"), name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "must be a webhook name") });
const webhookLease: RouteDef = {
  method: "post", path: "/v1/ci/webhooks/:tenant/:name/leases", tag, operation: null, status: 201, body: WebhookLeaseRequestSchema, response: CiLeasesSchema,
  params: WebhookParams,
  summary: "CI job: lease credentials with an HMAC-signed request (X-Vault-Timestamp, X-Vault-Signature: sha256=<hex>)",
};

/** CI entry points' definitions (public: they authenticate by OIDC token or signature), for OpenAPI. */
export const ciRoutes: RouteDef[] = [oidcLease, oidcRevoke, webhookLease];

/** The federation router: admin routes plus the two CI entry points. */
export const federation = new Hono<AppEnv>()
  .post(oidcLease.path, async (c) => {
    const { body } = await readInput(c, oidcLease);
    const { tenant_id } = OidcLeaseRequestSchema.parse(body);
    await limitCiTenant(c, tenant_id);
    return respond(c, oidcLease, unwrapOutcome(await vaultStub(c.env, tenant_id).oidcLeases(c.get("requestId"), body, c.req.header("cf-connecting-ip") ?? null)));
  })
  .post(oidcRevoke.path, async (c) => {
    const { body } = await readInput(c, oidcRevoke);
    const { tenant_id } = OidcRevokeRequestSchema.parse(body);
    await limitCiTenant(c, tenant_id);
    return respond(c, oidcRevoke, unwrapOutcome(await vaultStub(c.env, tenant_id).oidcRevokeLeases(c.get("requestId"), body, c.req.header("cf-connecting-ip") ?? null)));
  })
  .post(webhookLease.path, async (c) => {
    const params = WebhookParams.safeParse(c.req.param());
    if (!params.success) throw new VaultError("validation_failed", "path: tenant id and webhook name required");
    await limitCiTenant(c, params.data.tenant);
    // The signature covers the body exactly as sent, so it goes to the vault as text, unparsed. The
    // vault checks the media type too, so a wrong one is recorded in the tenant's log (415 either way).
    const signed = {
      name: params.data.name, contentType: c.req.header("content-type") ?? null,
      timestamp: c.req.header("x-vault-timestamp") ?? null, signature: c.req.header("x-vault-signature") ?? null, body: await c.req.text(),
    };
    return respond(c, webhookLease, unwrapOutcome(await vaultStub(c.env, params.data.tenant).webhookLeases(c.get("requestId"), signed, c.req.header("cf-connecting-ip") ?? null)));
  })
  .route("/", vaultRouter(federationRoutes));
