import { z } from "zod";
import type { InputOf, Operation, RawInput } from "../../worker/contract/operations";
import { VaultError, describeZodError } from "../../worker/contract/errors";
import { KekStatusSchema } from "../../worker/contract/schemas/admin";
import { proveConsistency, proveInclusion } from "../audit/proofs";
import * as audit from "../audit/query";
import { record } from "../audit/record";
import { kekStatus, rotateKek } from "../kek/rotation";
import type { Actor, VaultContext } from "../vault-context";
import { collectAccessRequest } from "./access-request-collect";
import * as access from "./access-requests";
import * as acl from "./acl";
import { impactReport, revokeMatching } from "./break-glass";
import * as creds from "./credentials";
import * as leases from "./leases";
import * as oidc from "./oidc";
import * as sessions from "./sessions";
import * as teams from "./teams";
import * as tokens from "./tokens";
import * as use from "./use";
import * as webhooks from "./webhooks";

/** What a handler may need from the object beyond the context: the proxy's fetch and its limiter. */
export type OpRuntime = use.UseDeps;

/**
 * One authenticated operation's function. It runs after the object has authenticated the caller,
 * checked the least role and validated the input against the operation's schemas (the only
 * validation: worker/contract/operations/spec.ts), so it receives typed input.
 */
export type Handler<K extends Operation> = (
  ctx: VaultContext,
  actor: Actor,
  input: InputOf<K>,
  rt: OpRuntime,
  raw: RawInput,
) => unknown;

/** The audit export's page cursor (RawInput.page), set by the Worker's streaming handler. */
const ExportPageSchema = z.strictObject({
  after: z.number().int().nullable(),
  limit: z.number().int().min(1).max(5000),
});

function exportPage(raw: RawInput): z.output<typeof ExportPageSchema> {
  const parsed = ExportPageSchema.safeParse(raw.page ?? { after: null, limit: 1000 });
  if (!parsed.success) throw new VaultError("validation_failed", describeZodError(parsed.error, "page"));
  return parsed.data;
}

/**
 * Every authenticated operation's handler, by name. `satisfies` makes a missing or misspelt
 * handler a type error, and gives each one its operation's parsed input type.
 */
export const HANDLERS = {
  whoami: (ctx, a) => tokens.whoami(ctx, a),

  "credentials.list": (ctx, _a, { query }) => creds.listCredentialPage(ctx, query),
  "credentials.get": (ctx, a, { params }) => creds.getCredential(ctx, a, params.ref),
  "credentials.create": (ctx, a, { body }) => creds.createCredential(ctx, a, body),
  "credentials.update": (ctx, a, { params, body }) => creds.updateCredential(ctx, a, params.ref, body),
  "credentials.rotate": (ctx, a, { params, body }) => creds.rotateCredentialValue(ctx, a, params.ref, body.value),
  "credentials.versions": (ctx, _a, { params }) => creds.listCredentialVersions(ctx, params.ref),
  "credentials.delete": (ctx, a, { params }) => creds.deleteCredential(ctx, a, params.ref),

  "acl.get": (ctx, _a, { params }) => acl.getAcl(ctx, params.ref),
  "acl.set": (ctx, a, { params, body }) => acl.setAcl(ctx, a, params.ref, body),
  "acl.check": (ctx, _a, { params, query }) => teams.checkAcl(ctx, params.ref, query.identity, query.permission),

  "use.get": (ctx, _a, { params }) => use.getUsePolicy(ctx, params.ref),
  "use.set": (ctx, a, { params, body }) => use.setUsePolicy(ctx, a, params.ref, body),
  "use.delete": (ctx, a, { params }) => use.removeUsePolicy(ctx, a, params.ref),
  "use.request": (ctx, a, { params, body }, rt) => use.useCredential(ctx, a, params.ref, body, rt),

  "teams.list": (ctx) => teams.listTeamViews(ctx),
  "teams.set": (ctx, a, { params, body }) => teams.setTeam(ctx, a, params.name, body.members),
  "teams.delete": (ctx, a, { params }) => teams.removeTeam(ctx, a, params.name),

  "leases.create": (ctx, a, { body }) => leases.createLease(ctx, a, body),
  "leases.list": (ctx, a, { query }) => leases.listLeasePage(ctx, a, query),
  "leases.get": (ctx, a, { params }) => leases.getLease(ctx, a, params.id),
  "leases.renew": (ctx, a, { params, body }) => leases.renewLease(ctx, a, params.id, body.ttl),
  "leases.revoke": (ctx, a, { params }) => leases.revokeLease(ctx, a, params.id),
  "leases.revoke_matching": (ctx, a, { body }) => revokeMatching(ctx, a, body),

  "access_requests.list": (ctx, a, { query }) => access.listRequestViews(ctx, a, query),
  "access_requests.get": (ctx, a, { params }) => access.getRequestView(ctx, a, params.id),
  "access_requests.approve": (ctx, a, { params, body }) =>
    access.decideRequest(ctx, a, params.id, "approved", body.reason ?? null),
  "access_requests.deny": (ctx, a, { params, body }) => access.decideRequest(ctx, a, params.id, "denied", body.reason),
  "access_requests.collect": (ctx, a, { params }) => collectAccessRequest(ctx, a, params.id),

  "tokens.list": (ctx, _a, { query }) => tokens.listTokenPage(ctx, query),
  "tokens.get": (ctx, _a, { params }) => tokens.getToken(ctx, params.id),
  "tokens.create": (ctx, a, { body }) => tokens.createToken(ctx, a, body),
  "tokens.revoke": (ctx, a, { params }) => tokens.revokeTokenById(ctx, a, params.id),
  "sessions.create": (ctx, a, { body }) => sessions.createSession(ctx, a, body),
  "sessions.revoke": (ctx, a, { params }) => sessions.revokeSession(ctx, a, params.id),

  "oidc.list": (ctx) => oidc.listTrustViews(ctx),
  "oidc.create": (ctx, a, { body }) => oidc.createTrust(ctx, a, body),
  "oidc.delete": (ctx, a, { params }) => oidc.removeTrust(ctx, a, params.ref),
  "webhooks.list": (ctx) => webhooks.listWebhookViews(ctx),
  "webhooks.create": (ctx, a, { body }) => webhooks.createWebhook(ctx, a, body),
  "webhooks.delete": (ctx, a, { params }) => webhooks.removeWebhook(ctx, a, params.ref),

  "audit.query": (ctx, _a, { query }) => audit.queryAudit(ctx, query),
  "audit.verify": (ctx, _a, { query }) => audit.verifyAudit(ctx, query),
  "audit.inclusion_proof": (ctx, _a, { query }) => proveInclusion(ctx, query),
  "audit.consistency_proof": (ctx, _a, { query }) => proveConsistency(ctx, query),
  "audit.checkpoints": (ctx, _a, { query }) => audit.listCheckpoints(ctx, query),
  "audit.export": (ctx, a, { query }, _rt, raw) => {
    const page = exportPage(raw);
    // The first page of an export is the admin action to record; later pages continue it.
    if (page.after === null)
      ctx.storage.transactionSync(() =>
        record(ctx, a, {
          type: "audit.exported",
          target: null,
          details: { from_seq: query.from_seq ?? 1, to_seq: query.to_seq ?? null },
        }),
      );
    return audit.exportAuditPage(ctx, query, page.after, page.limit);
  },
  "incident.impact": (ctx, a, { query }) => impactReport(ctx, a, Date.parse(query.from), Date.parse(query.to)),

  "kek.status": async (ctx) => KekStatusSchema.parse(await kekStatus(ctx)),
  "kek.rotate": (ctx, a) => rotateKek(ctx, a),
} satisfies { [K in Operation]: Handler<K> };

/** What operation `K` answers on success. */
export type OpResult<K extends Operation> = Awaited<ReturnType<(typeof HANDLERS)[K]>>;
