import { matchConditions, renderIdentity } from "../../worker/federation/claims";
import { discoverJwksUri, type JwkSet } from "../../worker/federation/jwks";
import { verifyJwt } from "../../worker/federation/jwt";
import { VaultError } from "../../worker/errors";
import { newId } from "../../worker/ids";
import type { CreateTrustInput, OidcLeaseRequest, Trust } from "../../worker/schemas/federation";
import { record } from "../audit/record";
import { deleteTrust, findTrust, insertTrust, listTrusts, trustsForIssuer, type StoredTrust } from "../storage/federation";
import { iso, type Actor, type VaultContext } from "../vault-context";
import { grantCiLeases, refuseCi } from "./ci-leases";

/** A stored trust as the API shows it. */
function trustView(t: StoredTrust): Trust {
  const p = t.parsed;
  return {
    id: t.id, name: t.name, issuer: p.issuer, audience: p.audience, jwks_uri: p.jwks_uri ?? null, jwks: p.jwks ?? null,
    conditions: p.conditions, identity_template: p.identity_template, role: p.role, credentials: p.credentials, max_ttl: p.max_ttl,
    created_at: iso(t.created_at),
  };
}

/** POST /v1/oidc/trusts */
export function createTrust(ctx: VaultContext, actor: Actor, input: CreateTrustInput): Trust {
  const row = { id: newId("trust"), name: input.name, issuer: input.issuer, policy: JSON.stringify(input), created_at: ctx.now(), created_by: actor.tokenId };
  ctx.storage.transactionSync(() => {
    if (!insertTrust(ctx.sql, row)) throw new VaultError("conflict", `a trust policy named "${input.name}" already exists`);
    record(ctx, actor, { type: "oidc.trust_created", target: { kind: "oidc_trust", id: row.id }, details: { name: input.name, issuer: input.issuer, audience: input.audience, conditions: input.conditions, identity_template: input.identity_template, role: input.role, credentials: input.credentials } });
  });
  return trustView({ ...row, parsed: input });
}

/** GET /v1/oidc/trusts */
export function listTrustViews(ctx: VaultContext): { items: Trust[] } {
  return { items: listTrusts(ctx.sql).map(trustView) };
}

/** DELETE /v1/oidc/trusts/{ref} */
export function removeTrust(ctx: VaultContext, actor: Actor, ref: string): void {
  const trust = findTrust(ctx.sql, ref);
  if (!trust) throw new VaultError("not_found", "no such trust policy");
  ctx.storage.transactionSync(() => {
    deleteTrust(ctx.sql, trust.id);
    record(ctx, actor, { type: "oidc.trust_deleted", target: { kind: "oidc_trust", id: trust.id }, details: { name: trust.name } });
  });
}

/** The issuer claim of a token, read before verification only to pick candidate policies. */
function unverifiedIssuer(token: string): string | null {
  try {
    const payload = token.split(".")[1];
    if (!payload) return null;
    const json = JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(payload.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0)))) as { iss?: unknown };
    return typeof json.iss === "string" ? json.iss : null;
  } catch {
    return null;
  }
}

/** The signing keys of a trust: pinned, from its jwks_uri, or via OIDC discovery; cached by ctx.jwks. */
async function keysFor(ctx: VaultContext, trust: StoredTrust, forceRefresh: boolean): Promise<{ keys: JwkSet; uri: string | null } | string> {
  const p = trust.parsed;
  if (p.jwks) return { keys: p.jwks, uri: null };
  let uri = p.jwks_uri ?? null;
  if (!uri) {
    const found = await discoverJwksUri(p.issuer, ctx.fetchExternal, { allowInsecure: ctx.config.ENVIRONMENT !== "production" });
    if (!found.ok) return `discovery failed: ${found.error.message}`;
    uri = found.jwksUri;
  }
  if (forceRefresh) await ctx.jwks.refreshForUnknownKid(uri);
  const got = await ctx.jwks.get(uri);
  return got.ok ? { keys: got.jwks, uri } : `JWKS unavailable: ${got.error.message}`;
}

/** Verifies `token` against one trust; returns the caller's identity or why not. */
async function tryTrust(ctx: VaultContext, trust: StoredTrust, token: string): Promise<{ identity: string; exp: number } | { status: 401 | 403; reason: string }> {
  for (const refresh of [false, true]) {
    const keys = await keysFor(ctx, trust, refresh);
    if (typeof keys === "string") return { status: 401, reason: keys };
    const result = await verifyJwt(token, { keys: keys.keys, issuer: trust.parsed.issuer, audience: trust.parsed.audience, now: ctx.now() });
    // An unknown kid may be a key rotation: refetch once (rate-limited by the cache), then retry.
    if (!result.ok && result.reason === "unknown_kid" && !refresh && keys.uri) continue;
    if (!result.ok) return { status: 401, reason: `${result.reason}: ${result.message}` };
    if (!matchConditions(result.claims, trust.parsed.conditions)) return { status: 403, reason: "token claims match no trust policy" };
    const identity = renderIdentity(trust.parsed.identity_template, result.claims);
    if (!identity) return { status: 403, reason: "claim_not_representable: the trust policy's identity template cannot be filled from this token's claims" };
    return { identity, exp: typeof result.claims.exp === "number" ? result.claims.exp * 1000 : ctx.now() };
  }
  return { status: 401, reason: "unknown_kid: no key with this kid, even after refetching the JWKS" };
}

/**
 * POST /v1/ci/leases: a CI job presents its OIDC ID token; the first trust policy of its issuer
 * whose audience, signature, validity and claim conditions all hold decides who it is and what
 * it may lease. Every refusal answers 401 (token not valid) or 403 (valid but not trusted for
 * this) and leaves an `oidc.denied` entry; the token itself is never stored or logged.
 */
export async function oidcLeases(ctx: VaultContext, requestId: string, request: OidcLeaseRequest) {
  const issuer = unverifiedIssuer(request.token);
  const candidates = issuer ? trustsForIssuer(ctx.sql, issuer) : [];
  if (candidates.length === 0) refuseCi(ctx, "oidc.denied", { issuer }, new VaultError("unauthorized", "no trust policy accepts tokens from this issuer"), requestId);
  let refusal: { status: 401 | 403; reason: string } = { status: 401, reason: "no trust policy matched" };
  for (const trust of candidates) {
    const verdict = await tryTrust(ctx, trust, request.token);
    if ("reason" in verdict) {
      if (verdict.status === 403 || refusal.status === 401) refusal = verdict;
      continue;
    }
    if (trust.parsed.role !== "user") refuseCi(ctx, "oidc.denied", { issuer, trust: trust.name }, new VaultError("forbidden", "this trust policy does not allow leases"), requestId);
    const actor: Actor = { tokenId: `oidc:${trust.id}`, kind: "oidc", role: trust.parsed.role, identity: verdict.identity, expiresAt: verdict.exp, requestId };
    return grantCiLeases(ctx, actor, { credentials: trust.parsed.credentials, maxTtl: trust.parsed.max_ttl }, request);
  }
  const error = new VaultError(refusal.status === 401 ? "unauthorized" : "forbidden", `OIDC token refused: ${refusal.reason}`);
  refuseCi(ctx, "oidc.denied", { issuer }, error, requestId);
}
