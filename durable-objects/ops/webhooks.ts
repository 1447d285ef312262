import { z } from "zod";
import { webhookIdentity } from "../../worker/core/auth/identity";
import { bytesToHex, hexToBytes } from "../../worker/core/crypto/encoding";
import { hmacSha256HexSync } from "../../worker/core/crypto/sha256-sync";
import { verifyWebhookSignature } from "../../worker/core/federation/webhook-signature";
import { describeZodError, VaultError } from "../../worker/contract/errors";
import { newId } from "../../worker/core/ids";
import { findIllFormed, illFormedMessage } from "../../worker/core/well-formed";
import {
  WebhookLeaseRequestSchema,
  type CreateWebhookInput,
  type Webhook,
} from "../../worker/contract/schemas/federation";
import { record } from "../audit/record";
import { recordAnonymousRefusal } from "../audit/refusals";
import {
  deleteWebhook,
  findWebhook,
  insertWebhook,
  listWebhooks,
  rememberReplayKey,
  type StoredWebhook,
} from "../storage/federation";
import { iso, type Actor, type VaultContext } from "../vault-context";
import { grantCiLeases, refuseCi } from "./ci-leases";

/**
 * A signed webhook lease request as the Worker hands it over: headers and the raw body, bounded,
 * checked at the RPC boundary. `contentType` is the header as sent; anything but JSON is refused
 * (and recorded) with 415.
 */
export const SignedRequestSchema = z.strictObject({
  name: z.string().max(128),
  contentType: z.string().max(256).nullable(),
  timestamp: z.string().max(64).nullable(),
  signature: z.string().max(256).nullable(),
  body: z.string().max(512 * 1024),
});

/** A signed webhook lease request (SignedRequestSchema). */
export type SignedRequest = z.output<typeof SignedRequestSchema>;

/**
 * A webhook's signing secret, derived rather than stored: HMAC-SHA256(pepper, tenant | id | salt).
 * The database holds only the salt, so a storage leak yields no secret; rotating the pepper
 * invalidates every webhook secret (documented in the runbook).
 */
function webhookSecret(ctx: VaultContext, hook: { id: string; salt: string }): string {
  return hmacSha256HexSync(
    hexToBytes(ctx.config.TOKEN_PEPPER),
    `gv/webhook/v1|${ctx.tenantId}|${hook.id}|${hook.salt}`,
  );
}

function view(h: StoredWebhook): Webhook {
  return {
    id: h.id,
    name: h.name,
    identity: webhookIdentity(h.name),
    credentials: h.credentials,
    max_ttl: h.max_ttl,
    created_at: iso(h.created_at),
  };
}

/** POST /v1/webhooks: the secret is returned once. */
export function createWebhook(
  ctx: VaultContext,
  actor: Actor,
  input: CreateWebhookInput,
): { webhook: Webhook; secret: string } {
  const row = {
    id: newId("hook"),
    name: input.name,
    salt: bytesToHex(crypto.getRandomValues(new Uint8Array(16))),
    credentials: input.credentials,
    max_ttl: input.max_ttl,
    created_at: ctx.now(),
    created_by: actor.tokenId,
  };
  ctx.storage.transactionSync(() => {
    if (!insertWebhook(ctx.sql, row))
      throw new VaultError("conflict", `a webhook named "${input.name}" already exists`);
    record(ctx, actor, {
      type: "webhook.created",
      target: { kind: "webhook", id: row.id },
      details: { name: row.name, credentials: row.credentials, max_ttl: row.max_ttl },
    });
  });
  return { webhook: view(row), secret: webhookSecret(ctx, row) };
}

/** GET /v1/webhooks */
export function listWebhookViews(ctx: VaultContext): { items: Webhook[] } {
  return { items: listWebhooks(ctx.sql).map(view) };
}

/** DELETE /v1/webhooks/{ref} */
export function removeWebhook(ctx: VaultContext, actor: Actor, ref: string): void {
  const hook = findWebhook(ctx.sql, ref);
  if (!hook) throw new VaultError("not_found", "no such webhook");
  ctx.storage.transactionSync(() => {
    deleteWebhook(ctx.sql, hook.id);
    record(ctx, actor, {
      type: "webhook.deleted",
      target: { kind: "webhook", id: hook.id },
      details: { name: hook.name },
    });
  });
}

/** The answer to a webhook request whose body is not JSON, whether or not the tenant exists. */
export function mediaTypeRefusal(): VaultError {
  return new VaultError("unsupported_media_type", "send the body as application/json");
}

/** Records a webhook request sent with the wrong media type (within the refusal budget), then refuses it with 415. */
export async function refuseMediaType(ctx: VaultContext, requestId: string, signed: SignedRequest): Promise<never> {
  const error = mediaTypeRefusal();
  recordAnonymousRefusal(ctx, `webhook.denied/${error.code}`, {
    type: "webhook.denied",
    target: null,
    outcome: "denied",
    requestId,
    details: {
      webhook: signed.name,
      code: error.code,
      reason: `content type ${signed.contentType ?? "(none)"} is not application/json`,
    },
  });
  throw error;
}

/**
 * POST /v1/ci/webhooks/{tenant}/{name}/leases: verifies the signature over `timestamp.body`,
 * refuses stale, future and replayed requests (each signature is remembered for the tolerance
 * window), then leases as `ci:webhook:<name>` within the webhook's grant.
 */
export async function webhookLeases(ctx: VaultContext, requestId: string, signed: SignedRequest) {
  const hook = findWebhook(ctx.sql, signed.name);
  const details = { webhook: signed.name };
  // refuseCi answers every cause alike, so webhook names cannot be probed.
  if (!hook)
    refuseCi(ctx, "webhook.denied", details, new VaultError("unauthorized", "no webhook of this name"), requestId);
  const now = ctx.now();
  const verdict = await verifyWebhookSignature({
    secretHex: webhookSecret(ctx, hook),
    timestampHeader: signed.timestamp,
    signatureHeader: signed.signature,
    body: signed.body,
    now,
  });
  if (!verdict.ok)
    refuseCi(
      ctx,
      "webhook.denied",
      details,
      new VaultError("unauthorized", `webhook signature refused: ${verdict.reason}`),
      requestId,
    );
  if (!rememberReplayKey(ctx.sql, verdict.replayKey, verdict.rememberUntilMs, now)) {
    refuseCi(
      ctx,
      "webhook.denied",
      details,
      new VaultError("unauthorized", "webhook signature refused: replayed"),
      requestId,
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(signed.body);
  } catch {
    throw new VaultError("invalid_json", "request body is not valid JSON");
  }
  const illFormed = findIllFormed(body, "body");
  if (illFormed !== null) throw new VaultError("validation_failed", illFormedMessage("body", illFormed));
  const parsed = WebhookLeaseRequestSchema.safeParse(body);
  if (!parsed.success) throw new VaultError("validation_failed", describeZodError(parsed.error, "body"));
  const actor: Actor = {
    tokenId: `webhook:${hook.id}`,
    kind: "webhook",
    role: "user",
    identity: webhookIdentity(hook.name),
    expiresAt: null,
    requestId,
  };
  return grantCiLeases(ctx, actor, { credentials: hook.credentials, maxTtl: hook.max_ttl }, parsed.data);
}
