import { z } from "zod";
import { JwksSchema } from "../../core/federation/jwks";
import { IdentitySchema } from "../../core/auth/identity";
import { identityTemplateProblem } from "../../core/federation/claims";
import { DurationSchema, TimestampSchema } from "./common";
import { CredentialNameSchema, CredentialValueSchema } from "./credentials";
import { AgentSchema, LeaseSchema } from "./leases";

const NameSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "1-63 of a-z 0-9 - starting with a letter or digit");
const CredentialGlobs = z
  .array(
    z
      .string()
      .min(1)
      .max(128)
      .regex(/^[\x21-\x7e]+$/, "printable ASCII"),
  )
  .min(1, "name at least one credential (globs allowed)")
  .max(100);
/**
 * A claim name in a trust's conditions: no character JSON must escape in a key. The platform's
 * JSON.parse (V8 in workerd) can read such a key as another one it parsed earlier in the isolate,
 * in any tenant's request (docs/security-model.md "Platform"), so the vault would store and enforce
 * a condition the manager did not write. No issuer names its claims that way.
 */
const ClaimNameSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[^"\\\u0000-\u001f\u007f]+$/, "claim names have no quote, backslash or control character");

const HttpsUrl = z.url().refine((u) => u.startsWith("https://") || u.startsWith("http://"), "must be an http(s) URL");

/** POST /v1/oidc/trusts: who may lease by presenting an OIDC ID token (GitHub Actions, GitLab CI, …). */
export const CreateTrustSchema = z
  .strictObject({
    name: NameSchema,
    issuer: HttpsUrl,
    audience: z.string().min(1).max(256),
    /** Where the signing keys are: an explicit JWKS URL, or a pinned JWKS; neither = OIDC discovery. */
    jwks_uri: HttpsUrl.optional(),
    jwks: JwksSchema.optional(),
    /** Claim → exact value or glob. At least one: an issuer such as GitHub's is shared by everyone. */
    conditions: z
      .record(ClaimNameSchema, z.string().min(1).max(256))
      .refine((c) => Object.keys(c).length > 0, "give at least one claim condition (e.g. repository_owner)"),
    identity_template: z
      .string()
      .max(256)
      .refine((t) => /^(ci|service):/.test(t), "CI identities start with ci: or service:")
      .superRefine((t, ctx) => {
        const problem = identityTemplateProblem(t);
        if (problem !== null) ctx.addIssue({ code: "custom", message: problem });
      }),
    role: z.enum(["viewer", "user"]).default("user"),
    credentials: CredentialGlobs,
    max_ttl: DurationSchema.default(3600),
    /** Longest ID token accepted (exp − iat, and exp − now): a stolen token must not stay useful. */
    max_token_lifetime: DurationSchema.refine((s) => s <= 86_400, "at most 24h").default(3600),
  })
  .refine((t) => !(t.jwks_uri && t.jwks), "give jwks_uri or jwks, not both");

/** A stored trust policy. */
export const TrustSchema = z.object({
  id: z.string(),
  name: z.string(),
  issuer: z.string(),
  audience: z.string(),
  jwks_uri: z.string().nullable(),
  jwks: JwksSchema.nullable(),
  conditions: z.record(z.string(), z.string()),
  identity_template: z.string(),
  role: z.enum(["viewer", "user"]),
  credentials: z.array(z.string()),
  max_ttl: z.number().int(),
  max_token_lifetime: z.number().int(),
  created_at: TimestampSchema,
});

/** POST /v1/webhooks: a signed-request lease source for CI systems without OIDC. */
export const CreateWebhookSchema = z.strictObject({
  name: NameSchema,
  credentials: CredentialGlobs,
  max_ttl: DurationSchema.default(3600),
});

/** A stored webhook (never its secret). Its identity is `ci:webhook:<name>`. */
export const WebhookSchema = z.object({
  id: z.string(),
  name: z.string(),
  identity: IdentitySchema,
  credentials: z.array(z.string()),
  max_ttl: z.number().int(),
  created_at: TimestampSchema,
});

/** The answer to webhook creation: the only time its signing secret is shown. */
export const CreatedWebhookSchema = z.object({ webhook: WebhookSchema, secret: z.string() });

/** What a CI job asks for, by OIDC token or signed webhook. */
const CiLeaseRequest = {
  credentials: z.array(CredentialNameSchema).min(1).max(20),
  ttl: DurationSchema.optional(),
  purpose: z.string().min(1).max(256).optional(),
  agent: AgentSchema.optional(),
};

/** POST /v1/ci/leases: the ID token travels in the body, the tenant too (there is no vault token). */
export const OidcLeaseRequestSchema = z.strictObject({
  tenant_id: z.string().regex(/^[0-9a-f]{20}$/, "must be a tenant id"),
  token: z.string().min(1).max(16_384),
  ...CiLeaseRequest,
});

/**
 * POST /v1/ci/leases/revoke: the end of a CI job gives its leases back, proving who it is with a
 * fresh ID token (each is single-use, like an exchange). Only the token's identity's leases.
 */
export const OidcRevokeRequestSchema = z.strictObject({
  tenant_id: z.string().regex(/^[0-9a-f]{20}$/, "must be a tenant id"),
  token: z.string().min(1).max(16_384),
  lease_ids: z
    .array(z.string().regex(/^lease_[0-9a-f]{24}$/, "must be a lease id"))
    .min(1)
    .max(20),
});

/** POST /v1/ci/webhooks/{tenant}/{name}/leases body (signed). */
export const WebhookLeaseRequestSchema = z.strictObject(CiLeaseRequest);

/** Leases granted to a CI job, with their values. */
export const CiLeasesSchema = z.object({
  identity: z.string(),
  leases: z.array(z.object({ lease: LeaseSchema, value: CredentialValueSchema.or(z.string()) })),
});

/** The leases a CI job gave back: each now revoked, or already ended before the request. */
export const CiRevokedSchema = z.object({ identity: z.string(), leases: z.array(LeaseSchema) });

export const ListTrustsSchema = z.object({ items: z.array(TrustSchema) });
export const ListWebhooksSchema = z.object({ items: z.array(WebhookSchema) });

export type CreateTrustInput = z.output<typeof CreateTrustSchema>;
export type Trust = z.output<typeof TrustSchema>;
export type CreateWebhookInput = z.output<typeof CreateWebhookSchema>;
export type Webhook = z.output<typeof WebhookSchema>;
export type OidcLeaseRequest = z.output<typeof OidcLeaseRequestSchema>;
export type OidcRevokeRequest = z.output<typeof OidcRevokeRequestSchema>;
export type WebhookLeaseRequest = z.output<typeof WebhookLeaseRequestSchema>;
