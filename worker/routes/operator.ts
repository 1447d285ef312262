import { Hono, type Context } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { unwrapOutcome, type Outcome } from "../contract/rpc";
import {
  JobIdParamsSchema,
  JobQuerySchema,
  JobSchema,
  MintedOperatorTokenSchema,
  MintOperatorTokenSchema,
  OperatorLogQuerySchema,
  OperatorTokenIdParamsSchema,
  OperatorTokenSchema,
  StartJobSchema,
  SuspensionRequestSchema,
  TenantIdParamsSchema,
  TenantListQuerySchema,
  TenantListSchema,
} from "../contract/schemas/operator";
import { listTenants } from "../core/db/registry";
import { operatorIdentity, type OperatorActor } from "../core/operator/tokens";
import { operatorAuth, operatorPlane, type OperatorEnv } from "../middleware/operator-auth";
import type { OperationSpec, RawInput } from "../contract/operations";
import { readPublicInput, respond } from "./define";
import { operatorMetricsRoutes } from "./operator-metrics";

const tag = "operator";

/**
 * An operator route: declared like an operation (worker/contract/operations/spec.ts) with no tenant
 * role, since operator tokens are not tenant tokens, and served here with the operator and the
 * request's parts (already validated by the Worker; the OperatorPlane validates them again at its
 * RPC boundary).
 */
export interface OperatorRoute extends OperationSpec {
  role: null;
  serve: (c: Context<OperatorEnv>, operator: OperatorActor, input: RawInput) => Promise<unknown>;
}

/** Runs an OperatorPlane RPC and unwraps its outcome. */
function plane<T>(
  c: Context<OperatorEnv>,
  rpc: (stub: ReturnType<typeof operatorPlane>) => Promise<Outcome<T>>,
): Promise<T> {
  return rpc(operatorPlane(c.env)).then((o) => unwrapOutcome(o as Outcome<T>));
}

const Whoami = z.object({ operator: z.string(), token_id: z.string() });
const TokenList = z.object({ items: z.array(OperatorTokenSchema) });
const JobList = z.object({
  items: z.array(
    z.object({
      id: z.string(),
      kind: z.string(),
      operator: z.string(),
      state: z.string(),
      created_at: z.string(),
      finished_at: z.string().nullable(),
    }),
  ),
});
const Disclosures = z.object({
  job_id: z.string(),
  items: z.array(z.object({ tenant_id: z.string(), json: z.record(z.string(), z.unknown()), markdown: z.string() })),
});
const LogPage = z.object({
  items: z.array(z.object({ seq: z.number().int(), hash: z.string(), entry: z.record(z.string(), z.unknown()) })),
  next_after: z.number().int().nullable(),
  chain: z.unknown(),
});

/** The operator plane's own routes (issue 13 §3). Others add theirs to OPERATOR_ROUTES' callers. */
export const operatorCoreRoutes: OperatorRoute[] = [
  {
    method: "get",
    path: "/v1/operator/whoami",
    tag,
    summary: "The authenticated operator",
    role: null,
    response: Whoami,
    status: 200,
    serve: async (_c, op) => ({ operator: operatorIdentity(op.name), token_id: op.tokenId }),
  },
  {
    method: "post",
    path: "/v1/operator/tokens",
    tag,
    summary: "Mint a named operator token (root operator only)",
    role: null,
    body: MintOperatorTokenSchema,
    response: MintedOperatorTokenSchema,
    status: 201,
    serve: (c, op, input) => plane(c, (s) => s.mintToken(op, input.body)),
  },
  {
    method: "get",
    path: "/v1/operator/tokens",
    tag,
    summary: "Named operator tokens",
    role: null,
    response: TokenList,
    status: 200,
    serve: (c, op) => plane(c, (s) => s.listTokens(op)),
  },
  {
    method: "delete",
    path: "/v1/operator/tokens/:id",
    tag,
    summary: "Revoke a named operator token (root operator only)",
    role: null,
    params: OperatorTokenIdParamsSchema,
    response: OperatorTokenSchema,
    status: 200,
    serve: (c, op, input) => plane(c, (s) => s.revokeToken(op, input.params)),
  },
  {
    method: "get",
    path: "/v1/operator/tenants",
    tag,
    summary: "The tenant registry, paged by id, optionally one status",
    role: null,
    query: TenantListQuerySchema,
    response: TenantListSchema,
    status: 200,
    serve: async (c, _op, input) => {
      const q = TenantListQuerySchema.parse(input.query);
      const page = await listTenants(c.env.DB, q);
      return {
        items: page.items.map((t) => ({
          id: t.id,
          name: t.name,
          created_at: new Date(t.createdAt).toISOString(),
          status: t.status,
        })),
        next_after: page.next,
      };
    },
  },
  // One tenant's suspension as a route of its own (the runbook's P0 "contain"): a one-tenant job,
  // so it is retried, logged and audited exactly like `POST /v1/operator/jobs` with kind suspend.
  ...(["suspend", "reactivate"] as const).map(
    (kind): OperatorRoute => ({
      method: "post",
      path: `/v1/operator/tenants/:id/${kind}`,
      tag,
      summary:
        kind === "suspend"
          ? "Suspend a tenant: every tenant caller is refused (403 tenant_suspended); a one-tenant job"
          : "Reactivate a suspended tenant; a one-tenant job",
      role: null,
      params: TenantIdParamsSchema,
      body: SuspensionRequestSchema,
      response: JobSchema,
      status: 202,
      serve: (c, op, input) =>
        plane(c, (s) =>
          s.startJob(op, { kind, tenants: [input.params?.id], reason: (input.body as { reason?: unknown }).reason }),
        ),
    }),
  ),
  {
    method: "post",
    path: "/v1/operator/jobs",
    tag,
    summary: "Start a fleet job (verify, rotate KEKs, revoke leases, impact, root-key rewrap, suspend, reactivate)",
    role: null,
    body: StartJobSchema,
    response: JobSchema,
    status: 202,
    serve: (c, op, input) => plane(c, (s) => s.startJob(op, input.body)),
  },
  {
    method: "get",
    path: "/v1/operator/jobs",
    tag,
    summary: "Recent fleet jobs",
    role: null,
    response: JobList,
    status: 200,
    serve: (c, op) => plane(c, (s) => s.listJobs(op)),
  },
  {
    method: "get",
    path: "/v1/operator/jobs/:id",
    tag,
    summary: "A job's progress and per-tenant results",
    role: null,
    params: JobIdParamsSchema,
    query: JobQuerySchema,
    response: JobSchema,
    status: 200,
    serve: (c, op, input) => plane(c, (s) => s.getJob(op, input.params!.id!, input.query)),
  },
  {
    method: "get",
    path: "/v1/operator/jobs/:id/disclosures",
    tag,
    summary: "Disclosure drafts from a finished impact job",
    role: null,
    params: JobIdParamsSchema,
    response: Disclosures,
    status: 200,
    serve: (c, op, input) => plane(c, (s) => s.disclosures(op, input.params!.id!)),
  },
  {
    method: "get",
    path: "/v1/operator/log",
    tag,
    summary: "The hash-chained operator log",
    role: null,
    query: OperatorLogQuerySchema,
    response: LogPage,
    status: 200,
    serve: (c, op, input) => plane(c, (s) => s.readLog(op, input.query)),
  },
];

/**
 * Builds the operator router: every route behind `operatorAuth` (authenticate first, then
 * validate, so a caller without an operator token learns nothing about the schema).
 */
export function operatorRouter(routes: readonly OperatorRoute[]): Hono<OperatorEnv> {
  const router = new Hono<OperatorEnv>();
  router.use("/v1/operator/*", operatorAuth);
  for (const def of routes) {
    router.on(def.method.toUpperCase(), def.path, async (c) => {
      // OperatorEnv only adds a variable to AppEnv; Hono's Context is invariant in its env.
      const app = c as unknown as Context<AppEnv>;
      const { raw } = await readPublicInput(app, def);
      const value = await def.serve(c, c.get("operator"), raw);
      // A route that answers something other than JSON (the Prometheus text) builds its own Response.
      return value instanceof Response ? value : respond(app, def, value);
    });
  }
  return router;
}

/** Every operator route; wt-signals' metrics and signals routes join this list. */
export const OPERATOR_ROUTES: readonly OperatorRoute[] = [...operatorCoreRoutes, ...operatorMetricsRoutes];

/** The operator router, mounted by worker/index.ts. */
export const operator = operatorRouter(OPERATOR_ROUTES);
