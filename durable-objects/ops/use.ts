/**
 * Use without possession (docs/security-model.md "Use without possession"): the vault makes an
 * HTTP call with a credential injected, so the caller never holds the value. Authorisation is
 * role (user or above, enforced with every operation's role: 403 `forbidden`), then the ACL's
 * `use` permission and the credential's use policy (403 `use_denied`). A role refusal is recorded
 * as `access.denied` like every other; the rest as `credential.use_denied`; every call as `credential.used`.
 */
import { openCredentialValue, utf8Decode } from "../../worker/core/crypto";
import { VaultError } from "../../worker/contract/errors";
import { checkOutboundUrl, OutboundBudget } from "../../worker/core/federation/outbound";
import type { UsePolicy, UseRequest, UseResponse } from "../../worker/contract/schemas/use";
import { credentialTarget, record, refuse } from "../audit/record";
import { deleteUsePolicy, findUsePolicy, putUsePolicy } from "../storage/use";
import type { Actor, VaultContext } from "../vault-context";
import { loadVerifiedCredential } from "./credential-integrity";
import { requireCredential } from "./credentials";
import { decideAcl } from "./teams";
import { binary, fetchUpstream, injectRequest, scrubForms, scrubReply } from "./use-upstream";

/** Proxied calls per credential per minute, and per identity per minute (all credentials). */
export const USE_LIMITS = { perCredential: 600, perIdentity: 300 } as const;

/**
 * Per-minute budgets of proxied calls, kept in the object's memory. Fails closed: a spent budget
 * refuses with 429 until the minute ends. An evicted object starts fresh windows, which at worst
 * doubles one minute's count (as OutboundBudget documents).
 */
export class UseLimiter {
  readonly #budgets = new Map<string, OutboundBudget>();

  /** Takes one call for the credential and the identity; false (and the reason) when either is spent. */
  take(credentialId: string, identity: string, now: number): string | null {
    // Bounded memory: thousands of identities in one minute is already abuse; start over rather than grow.
    if (this.#budgets.size > 10_000) this.#budgets.clear();
    const budget = (key: string, limit: number) => {
      let b = this.#budgets.get(key);
      if (!b) this.#budgets.set(key, (b = new OutboundBudget(limit)));
      return b;
    };
    if (!budget(`i:${identity}`, USE_LIMITS.perIdentity).take(now))
      return `identity ${identity} is over ${USE_LIMITS.perIdentity} proxied calls a minute`;
    if (!budget(`c:${credentialId}`, USE_LIMITS.perCredential).take(now))
      return `this credential is over ${USE_LIMITS.perCredential} proxied calls a minute`;
    return null;
  }
}

/** GET /v1/credentials/{ref}/use */
export async function getUsePolicy(ctx: VaultContext, ref: string): Promise<UsePolicy> {
  const row = await requireCredential(ctx, ref);
  const policy = findUsePolicy(ctx.sql, row.id);
  if (!policy)
    throw new VaultError(
      "not_found",
      `credential "${row.name}" has no use policy; it cannot be used through the proxy`,
    );
  return policy;
}

/** PUT /v1/credentials/{ref}/use: replaces the policy; the audit entry carries before and after. */
export async function setUsePolicy(
  ctx: VaultContext,
  actor: Actor,
  ref: string,
  policy: UsePolicy,
): Promise<UsePolicy> {
  for (const origin of policy.origins) {
    // The outbound guard judges the host (IP literals, local names); a named port is the policy's choice.
    const probe = new URL(origin.replace("*.", "wildcard."));
    probe.port = "";
    const guard = checkOutboundUrl(probe.href, { allowInsecureForTests: ctx.config.OUTBOUND_ALLOW_INSECURE });
    if (!guard.ok) throw new VaultError("validation_failed", `origin ${origin} refused: ${guard.problem}`);
  }
  const row = await requireCredential(ctx, ref);
  ctx.storage.transactionSync(() => {
    const before = findUsePolicy(ctx.sql, row.id) ?? null;
    putUsePolicy(ctx.sql, row.id, policy, ctx.now());
    record(ctx, actor, {
      type: "use_policy.updated",
      target: credentialTarget(row.id),
      details: { name: row.name, before, after: policy },
    });
  });
  return policy;
}

/** DELETE /v1/credentials/{ref}/use: the credential can no longer be used through the proxy. */
export async function removeUsePolicy(ctx: VaultContext, actor: Actor, ref: string): Promise<null> {
  const row = await requireCredential(ctx, ref);
  ctx.storage.transactionSync(() => {
    const before = findUsePolicy(ctx.sql, row.id);
    if (!before || !deleteUsePolicy(ctx.sql, row.id))
      throw new VaultError("not_found", `credential "${row.name}" has no use policy`);
    record(ctx, actor, {
      type: "use_policy.deleted",
      target: credentialTarget(row.id),
      details: { name: row.name, before },
    });
  });
  return null;
}

/** True when `url` falls under one of the policy's origins: scheme, host (exact or `*.` one label or more) and port. */
export function originAllowed(url: URL, origins: readonly string[]): boolean {
  const host = url.hostname.toLowerCase();
  return origins.some((origin) => {
    const m = /^(https?):\/\/([^:]+)(?::(\d+))?$/.exec(origin);
    if (!m || `${m[1]}:` !== url.protocol) return false;
    // The URL parser drops a default port, so compare the policy's port the same way.
    const port =
      m[3] === undefined || (m[1] === "https" && m[3] === "443") || (m[1] === "http" && m[3] === "80") ? "" : m[3];
    if (port !== url.port) return false;
    const pattern = m[2]!;
    return pattern.startsWith("*.")
      ? host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1
      : host === pattern;
  });
}

/** Why the policy refuses the request, or null when it allows it. Names the part, never the value. */
function policyProblem(ctx: VaultContext, policy: UsePolicy, input: UseRequest): { problem: string; url?: URL } {
  let url: URL;
  try {
    url = new URL(input.url);
  } catch {
    return { problem: "url is not a URL" };
  }
  if (!originAllowed(url, policy.origins))
    return { problem: `origin ${url.origin} is not allowed by this credential's use policy` };
  if (!policy.methods.includes(input.method))
    return { problem: `method ${input.method} is not allowed by this credential's use policy` };
  if (!policy.path_prefixes.some((p) => url.pathname.startsWith(p)))
    return { problem: `path ${url.pathname} is not under an allowed path prefix` };
  // The outbound guard judges the host; a port the policy names explicitly is the policy's choice.
  const probe = new URL(url);
  probe.port = "";
  const guard = checkOutboundUrl(probe.href, { allowInsecureForTests: ctx.config.OUTBOUND_ALLOW_INSECURE });
  if (!guard.ok) return { problem: `url refused: ${guard.problem}` };
  return { problem: "", url };
}

/** What the proxy needs from the object: how to send upstream and the rate limiter. */
export interface UseDeps {
  send: (request: Request) => Promise<Response>;
  limiter: UseLimiter;
}

/** Records a refused use (`credential.use_denied`) and throws the refusal. */
function refuseUse(
  ctx: VaultContext,
  actor: Actor,
  input: UseRequest,
  error: VaultError,
  credentialId?: string,
): never {
  refuse(
    ctx,
    actor,
    {
      type: "credential.use_denied",
      target: credentialId ? credentialTarget(credentialId) : null,
      agent: input.agent,
      details: { method: input.method, purpose: input.purpose ?? null },
    },
    error,
  );
}

function requestBody(input: UseRequest): Uint8Array | null {
  if (input.body !== undefined) return new TextEncoder().encode(input.body);
  if (input.body_base64 !== undefined) return Uint8Array.from(atob(input.body_base64), (c) => c.charCodeAt(0));
  return null;
}

/** POST /v1/credentials/{ref}/use: authorise, inject, fetch, scrub, record `credential.used`. */
export async function useCredential(
  ctx: VaultContext,
  actor: Actor,
  ref: string,
  input: UseRequest,
  deps: UseDeps,
): Promise<UseResponse> {
  const found = await loadVerifiedCredential(ctx, actor, ref, "use.request");
  if (!found) refuseUse(ctx, actor, input, new VaultError("not_found", "no such credential"));
  const { credential, current } = found;
  const decision = decideAcl(ctx, credential, actor.identity, "use");
  if (!decision.allowed)
    refuseUse(
      ctx,
      actor,
      input,
      new VaultError("use_denied", `credential "${credential.name}" does not allow use by ${actor.identity}`),
      credential.id,
    );
  const policy = findUsePolicy(ctx.sql, credential.id);
  if (!policy)
    refuseUse(
      ctx,
      actor,
      input,
      new VaultError(
        "use_denied",
        `credential "${credential.name}" has no use policy; it cannot be used through the proxy`,
      ),
      credential.id,
    );
  const { problem, url } = policyProblem(ctx, policy, input);
  if (!url) refuseUse(ctx, actor, input, new VaultError("use_denied", problem), credential.id);
  const body = requestBody(input);
  if (body && body.byteLength > policy.max_request_bytes) {
    refuseUse(
      ctx,
      actor,
      input,
      new VaultError(
        "payload_too_large",
        `the request body is larger than this credential's max_request_bytes (${policy.max_request_bytes})`,
      ),
      credential.id,
    );
  }
  if (body && (input.method === "GET" || input.method === "HEAD"))
    refuseUse(
      ctx,
      actor,
      input,
      new VaultError("validation_failed", `a ${input.method} request has no body`),
      credential.id,
    );
  const limited = deps.limiter.take(credential.id, actor.identity, ctx.now());
  if (limited) refuseUse(ctx, actor, input, new VaultError("rate_limited", limited), credential.id);

  const value = utf8Decode(
    await openCredentialValue(current, await ctx.keks.get(current.kekVersion), {
      tenantId: ctx.tenantId,
      credentialId: credential.id,
      version: current.version,
    }),
  );
  const injected = injectRequest(url, input.headers, policy.inject, value);
  const started = Date.now();
  const used = (status: number | null, bytesOut: number, code?: string) =>
    ctx.storage.transactionSync(() =>
      record(ctx, actor, {
        type: "credential.used",
        target: credentialTarget(credential.id, current.version),
        outcome: status === null ? "error" : "success",
        agent: input.agent,
        // Never bodies, header values or query values: origin, method and path only.
        details: {
          credential_name: credential.name,
          origin: url.origin,
          method: input.method,
          path: url.pathname,
          status,
          code: code ?? null,
          bytes_sent: body?.byteLength ?? 0,
          bytes_received: bytesOut,
          upstream_ms: Date.now() - started,
          purpose: input.purpose ?? null,
          rule: decision.rule,
          team: decision.team,
        },
      }),
    );
  let reply;
  try {
    reply = await fetchUpstream(
      deps.send,
      new Request(injected.url, { method: input.method, headers: injected.headers, body }),
      policy,
    );
  } catch (error) {
    if (error instanceof VaultError) used(null, 0, error.code);
    throw error;
  }
  const upstreamMs = Date.now() - started;
  const clean = scrubReply(reply, scrubForms(value, policy.inject));
  used(reply.status, reply.body.byteLength);
  return {
    status: reply.status,
    headers: clean.headers,
    body_base64: btoa(binary(clean.body)),
    scrubbed: clean.scrubbed,
    upstream_ms: upstreamMs,
  };
}
