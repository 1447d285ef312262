import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { VaultError } from "../contract/errors";
import { unwrapOutcome } from "../contract/rpc";
import { OPERATION_TABLE } from "../contract/operations";
import { WebhookParamsSchema } from "../contract/operations/federation";
import { limitCiTenant } from "../middleware/rate-limit";
import { readPublicInput, respond, vaultStub } from "./define";

const oidcLease = OPERATION_TABLE["ci.oidc_lease"];
const oidcRevoke = OPERATION_TABLE["ci.oidc_revoke"];
const webhookLease = OPERATION_TABLE["ci.webhook_lease"];

/**
 * The CI entry points, hand-written: they are public (the vault authenticates the OIDC ID token or
 * the HMAC signature), route by a tenant named in the body or path, and are rate-limited per
 * tenant before the vault is called. Admin management of trusts and webhooks is in the table.
 */
export const federation = new Hono<AppEnv>()
  .post(oidcLease.path, async (c) => {
    const { raw, input } = await readPublicInput(c, oidcLease);
    const { tenant_id } = input.body;
    await limitCiTenant(c, tenant_id);
    return respond(
      c,
      oidcLease,
      unwrapOutcome(
        await vaultStub(c.env, tenant_id).oidcLeases(
          c.get("requestId"),
          raw.body,
          c.req.header("cf-connecting-ip") ?? null,
        ),
      ),
    );
  })
  .post(oidcRevoke.path, async (c) => {
    const { raw, input } = await readPublicInput(c, oidcRevoke);
    const { tenant_id } = input.body;
    await limitCiTenant(c, tenant_id);
    return respond(
      c,
      oidcRevoke,
      unwrapOutcome(
        await vaultStub(c.env, tenant_id).oidcRevokeLeases(
          c.get("requestId"),
          raw.body,
          c.req.header("cf-connecting-ip") ?? null,
        ),
      ),
    );
  })
  .post(webhookLease.path, async (c) => {
    const params = WebhookParamsSchema.safeParse(c.req.param());
    if (!params.success) throw new VaultError("validation_failed", "path: tenant id and webhook name required");
    await limitCiTenant(c, params.data.tenant);
    // The signature covers the body exactly as sent, so it goes to the vault as text, unparsed. The
    // vault checks the media type too, so a wrong one is recorded in the tenant's log (415 either way).
    const signed = {
      name: params.data.name,
      contentType: c.req.header("content-type") ?? null,
      timestamp: c.req.header("x-vault-timestamp") ?? null,
      signature: c.req.header("x-vault-signature") ?? null,
      body: await c.req.text(),
    };
    return respond(
      c,
      webhookLease,
      unwrapOutcome(
        await vaultStub(c.env, params.data.tenant).webhookLeases(
          c.get("requestId"),
          signed,
          c.req.header("cf-connecting-ip") ?? null,
        ),
      ),
    );
  });
