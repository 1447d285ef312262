import { matchConditions, renderIdentity } from "../../worker/core/federation/claims";
import type { JwkSet } from "../../worker/core/federation/jwks";
import { verifyJwt, type JwtClaims } from "../../worker/core/federation/jwt";
import { boundDetail, checkOutboundUrl } from "../../worker/core/federation/outbound";
import { VaultError } from "../../worker/contract/errors";
import { newId } from "../../worker/core/ids";
import type {
  CreateTrustInput,
  OidcLeaseRequest,
  OidcRevokeRequest,
  Trust,
} from "../../worker/contract/schemas/federation";
import { base64urlToBytes, utf8Decode } from "../../worker/core/crypto/encoding";
import { sha256HexSync } from "../../worker/core/crypto/sha256-sync";
import { record } from "../audit/record";
import {
  deleteTrust,
  findTrust,
  insertTrust,
  listTrusts,
  rememberOidcToken,
  trustsForIssuer,
  type StoredTrust,
} from "../storage/federation";
import { iso, type Actor, type VaultContext } from "../vault-context";
import { grantCiLeases, refuseCi, revokeCiLeases } from "./ci-leases";

/** A stored trust as the API shows it. */
function trustView(t: StoredTrust): Trust {
  const p = t.parsed;
  return {
    id: t.id,
    name: t.name,
    issuer: p.issuer,
    audience: p.audience,
    jwks_uri: p.jwks_uri ?? null,
    jwks: p.jwks ?? null,
    conditions: p.conditions,
    identity_template: p.identity_template,
    role: p.role,
    credentials: p.credentials,
    max_ttl: p.max_ttl,
    max_token_lifetime: p.max_token_lifetime,
    created_at: iso(t.created_at),
  };
}

/** Refuses, naming the field, an issuer or jwks_uri the vault would not fetch (outbound.ts). */
function checkTrustUrls(ctx: VaultContext, input: CreateTrustInput): void {
  // The issuer is fetched for discovery only without jwks_uri or jwks, but it is checked always: it
  // becomes fetchable the moment an admin drops the pinned keys, and a sane issuer passes anyway.
  for (const field of ["issuer", "jwks_uri"] as const) {
    const url = input[field];
    if (url === undefined) continue;
    const checked = checkOutboundUrl(url, { allowInsecureForTests: ctx.config.OUTBOUND_ALLOW_INSECURE });
    if (!checked.ok) throw new VaultError("validation_failed", `invalid request: ${field}: ${checked.problem}`);
  }
}

/** POST /v1/oidc/trusts */
export function createTrust(ctx: VaultContext, actor: Actor, input: CreateTrustInput): Trust {
  checkTrustUrls(ctx, input);
  const row = {
    id: newId("trust"),
    name: input.name,
    issuer: input.issuer,
    policy: JSON.stringify(input),
    created_at: ctx.now(),
    created_by: actor.tokenId,
  };
  ctx.storage.transactionSync(() => {
    if (!insertTrust(ctx.sql, row))
      throw new VaultError("conflict", `a trust policy named "${input.name}" already exists`);
    record(ctx, actor, {
      type: "oidc.trust_created",
      target: { kind: "oidc_trust", id: row.id },
      details: {
        name: input.name,
        issuer: input.issuer,
        audience: input.audience,
        conditions: input.conditions,
        identity_template: input.identity_template,
        role: input.role,
        credentials: input.credentials,
      },
    });
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
    record(ctx, actor, {
      type: "oidc.trust_deleted",
      target: { kind: "oidc_trust", id: trust.id },
      details: { name: trust.name },
    });
  });
}

/** The issuer claim of a token, read before verification only to pick candidate policies. */
function unverifiedIssuer(token: string): string | null {
  try {
    const payload = token.split(".")[1];
    if (!payload) return null;
    const json = JSON.parse(utf8Decode(base64urlToBytes(payload))) as { iss?: unknown };
    return typeof json.iss === "string" ? json.iss : null;
  } catch {
    return null;
  }
}

/** Why a trust refused a token; `detail` (a fetch diagnostic) goes to the audit entry, never the caller. */
type Refusal = { status: 401 | 403; reason: string; detail?: string };

/**
 * The signing keys of a trust: pinned, from its jwks_uri, or via OIDC discovery; both cached
 * (and budgeted) by ctx.jwks. A failure says only which step failed; what the issuer answered is
 * the `detail`, because an anonymous caller must not learn what the vault's fetches reach.
 */
async function keysFor(
  ctx: VaultContext,
  trust: StoredTrust,
  forceRefresh: boolean,
): Promise<{ keys: JwkSet; uri: string | null } | Refusal> {
  const p = trust.parsed;
  if (p.jwks) return { keys: p.jwks, uri: null };
  let uri = p.jwks_uri ?? null;
  if (!uri) {
    const found = await ctx.jwks.jwksUriFor(p.issuer);
    if (!found.ok)
      return {
        status: 401,
        reason: "keys_unavailable: OIDC discovery failed",
        detail: boundDetail(`${found.error.code}: ${found.error.message}`),
      };
    uri = found.jwksUri;
  }
  if (forceRefresh) await ctx.jwks.refreshForUnknownKid(uri);
  const got = await ctx.jwks.get(uri);
  if (got.ok) return { keys: got.jwks, uri };
  return {
    status: 401,
    reason: "keys_unavailable: the issuer's JWKS could not be fetched",
    detail: boundDetail(`${got.error.code}: ${got.error.message}`),
  };
}

/** Verifies `token` against one trust; returns the caller's identity or why not. */
async function tryTrust(
  ctx: VaultContext,
  trust: StoredTrust,
  token: string,
): Promise<{ identity: string; exp: number; claims: JwtClaims } | Refusal> {
  for (const refresh of [false, true]) {
    const keys = await keysFor(ctx, trust, refresh);
    if ("reason" in keys) return keys;
    const result = await verifyJwt(token, {
      keys: keys.keys,
      issuer: trust.parsed.issuer,
      audience: trust.parsed.audience,
      now: ctx.now(),
      maxLifetimeSeconds: trust.parsed.max_token_lifetime,
    });
    // An unknown kid may be a key rotation: refetch once (rate-limited by the cache), then retry.
    if (!result.ok && result.reason === "unknown_kid" && !refresh && keys.uri) continue;
    if (!result.ok) return { status: 401, reason: `${result.reason}: ${result.message}` };
    if (!matchConditions(result.claims, trust.parsed.conditions))
      return { status: 403, reason: "token claims match no trust policy" };
    const identity = renderIdentity(trust.parsed.identity_template, result.claims);
    if (!identity)
      return {
        status: 403,
        reason:
          "claim_not_representable: the trust policy's identity template cannot be filled from this token's claims",
      };
    return { identity, exp: result.claims.exp * 1000, claims: result.claims };
  }
  return { status: 401, reason: "unknown_kid: no key with this kid, even after refetching the JWKS" };
}

/** Clock skew verifyJwt tolerates past `exp`; a remembered token is kept at least that long. */
const EXP_SKEW_MS = 60_000;

/**
 * The replay key of an accepted token: its issuer and `jti` when it has one (the same token
 * re-encoded is still the same token), else the token itself; hashed either way, so the table
 * holds no token and its rows are of fixed size.
 */
function replayKey(claims: JwtClaims, token: string): string {
  return sha256HexSync(typeof claims.jti === "string" ? `jti\n${claims.iss}\n${claims.jti}` : `token\n${token}`);
}

/**
 * POST /v1/ci/leases: a CI job presents its OIDC ID token; the first trust policy of its issuer
 * whose audience, signature, validity, lifetime and claim conditions all hold decides who it is
 * and what it may lease. Each token is exchanged once (one exchange may lease several
 * credentials): it is remembered until it expires and a second exchange is refused as `replayed`.
 * Every refusal answers 401 (token not valid) or 403 (valid but not trusted for this) and leaves
 * an `oidc.denied` entry; the token itself is never stored or logged.
 */
export async function oidcLeases(ctx: VaultContext, requestId: string, request: OidcLeaseRequest) {
  const { actor, trust } = await oidcActor(ctx, requestId, request.token);
  return grantCiLeases(ctx, actor, { credentials: trust.parsed.credentials, maxTtl: trust.parsed.max_ttl }, request);
}

/**
 * POST /v1/ci/leases/revoke: the end of a CI job (the GitHub Action's post step, `ghostvault ci
 * revoke`) gives back its leases with a fresh ID token, checked and consumed exactly as for an
 * exchange; only leases held by the identity the token proves are revoked.
 */
export async function oidcRevokeLeases(ctx: VaultContext, requestId: string, request: OidcRevokeRequest) {
  const { actor } = await oidcActor(ctx, requestId, request.token);
  return revokeCiLeases(ctx, actor, request.lease_ids);
}

/** Who an ID token proves the caller is, under which trust; consumes the token (single use). */
async function oidcActor(
  ctx: VaultContext,
  requestId: string,
  token: string,
): Promise<{ actor: Actor; trust: StoredTrust }> {
  const issuer = unverifiedIssuer(token);
  const candidates = issuer ? trustsForIssuer(ctx.sql, issuer) : [];
  if (candidates.length === 0)
    refuseCi(
      ctx,
      "oidc.denied",
      { issuer },
      new VaultError("unauthorized", "no trust policy accepts tokens from this issuer"),
      requestId,
    );
  let refusal: Refusal = { status: 401, reason: "no trust policy matched" };
  for (const trust of candidates) {
    const verdict = await tryTrust(ctx, trust, token);
    if ("reason" in verdict) {
      if (verdict.status === 403 || refusal.status === 401) refusal = verdict;
      continue;
    }
    if (trust.parsed.role !== "user")
      refuseCi(
        ctx,
        "oidc.denied",
        { issuer, trust: trust.name },
        new VaultError("forbidden", "this trust policy does not allow leases"),
        requestId,
      );
    // Check and insert are one synchronous statement: two concurrent exchanges cannot both pass.
    if (!rememberOidcToken(ctx.sql, replayKey(verdict.claims, token), verdict.exp + EXP_SKEW_MS, ctx.now())) {
      refuseCi(
        ctx,
        "oidc.denied",
        { issuer, trust: trust.name },
        new VaultError("unauthorized", "OIDC token refused: replayed: this ID token was already exchanged"),
        requestId,
      );
    }
    return {
      actor: {
        tokenId: `oidc:${trust.id}`,
        kind: "oidc",
        role: trust.parsed.role,
        identity: verdict.identity,
        expiresAt: verdict.exp,
        requestId,
      },
      trust,
    };
  }
  const error = new VaultError(
    refusal.status === 401 ? "unauthorized" : "forbidden",
    `OIDC token refused: ${refusal.reason}`,
  );
  refuseCi(
    ctx,
    "oidc.denied",
    refusal.detail === undefined ? { issuer } : { issuer, detail: refusal.detail },
    error,
    requestId,
  );
}
