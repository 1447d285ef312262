import { z } from "zod";
import type { EmulatorConfig } from "./config";
import type { Operation } from "./operations";

/**
 * Test controls of the development emulator: injected faults and per-tenant call counts.
 *
 * The state lives in module scope, so it is per isolate: right for one local process
 * (`wrangler dev`, the vitest pool's auxiliary worker), meaningless on a deployed, multi-isolate
 * Worker — which the emulator must never be. Faults and counts are keyed by the request's
 * EncryptionContext.tenant_id, so test files running in parallel against the one emulator each
 * use their own tenant and do not see one another's faults.
 */

const FaultInput = z
  .object({
    tenantId: z.string().min(1).optional(),
    mode: z.enum(["none", "delay", "error", "throttle", "garbage"]),
    delayMs: z.number().int().min(0).max(60_000).optional(),
    count: z.number().int().min(1).optional(),
  })
  .refine((f) => f.mode !== "delay" || f.delayMs !== undefined, "delay needs delayMs");

/** A fault to apply to a request, as `takeFault` hands it out. */
export type FaultAction = { mode: "delay"; delayMs: number } | { mode: "error" | "throttle" | "garbage" };

interface Fault {
  action: FaultAction;
  /** Requests left to affect; undefined = until cleared. */
  remaining: number | undefined;
}

// `null` is the scope of requests and faults without a tenant.
const faults = new Map<string | null, Fault>();
const calls = new Map<string | null, Map<Operation, number>>();

/** Counts one authenticated call of `op` for `tenantId`. */
export function recordCall(tenantId: string | null, op: Operation): void {
  let counts = calls.get(tenantId);
  if (!counts) calls.set(tenantId, (counts = new Map()));
  counts.set(op, (counts.get(op) ?? 0) + 1);
}

/** The fault for this request, if any, using up one of its `count`: the tenant's first, else the global one. */
export function takeFault(tenantId: string | null): FaultAction | undefined {
  const scope = tenantId !== null && faults.has(tenantId) ? tenantId : null;
  const fault = faults.get(scope);
  if (!fault) return undefined;
  if (fault.remaining !== undefined && --fault.remaining <= 0) faults.delete(scope);
  return fault.action;
}

/** Handles `/__control/*`; requires `x-emulator-control: <SECRET_ACCESS_KEY>`. */
export async function handleControl(request: Request, config: EmulatorConfig): Promise<Response> {
  if (!(await sameSecret(request.headers.get("x-emulator-control") ?? "", config.secretAccessKey))) {
    return json({ error: "x-emulator-control header missing or wrong" }, 403);
  }
  const url = new URL(request.url);
  const tenantId = url.searchParams.get("tenantId");
  const route = `${request.method} ${url.pathname}`;
  switch (route) {
    case "POST /__control/faults": {
      let body: unknown;
      try {
        body = await request.json();
      } catch {
        return json({ error: "body must be JSON" }, 400);
      }
      const parsed = FaultInput.safeParse(body);
      if (!parsed.success) {
        return json({ error: parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ") }, 400);
      }
      const { mode, delayMs, count } = parsed.data;
      const scope = parsed.data.tenantId ?? null;
      if (mode === "none") faults.delete(scope);
      else {
        const action: FaultAction = mode === "delay" ? { mode, delayMs: delayMs ?? 0 } : { mode };
        faults.set(scope, { action, remaining: count });
      }
      return json({ ok: true });
    }
    case "GET /__control/stats":
      return json({ calls: Object.fromEntries(countsFor(tenantId)) });
    case "POST /__control/reset":
      if (tenantId === null) {
        faults.clear();
        calls.clear();
      } else {
        faults.delete(tenantId);
        calls.delete(tenantId);
      }
      return json({ ok: true });
    default:
      return json({ error: `no control route ${route}` }, 404);
  }
}

/** One tenant's counts, or the totals over every tenant when none is named. */
function countsFor(tenantId: string | null): Map<Operation, number> {
  if (tenantId !== null) return calls.get(tenantId) ?? new Map();
  const total = new Map<Operation, number>();
  for (const counts of calls.values()) {
    for (const [op, n] of counts) total.set(op, (total.get(op) ?? 0) + n);
  }
  return total;
}

/** Constant-time comparison; hashing first gives equal lengths, which timingSafeEqual requires. */
async function sameSecret(given: string, expected: string): Promise<boolean> {
  const encoder = new TextEncoder();
  const [a, b] = await Promise.all([
    crypto.subtle.digest("SHA-256", encoder.encode(given)),
    crypto.subtle.digest("SHA-256", encoder.encode(expected)),
  ]);
  return crypto.subtle.timingSafeEqual(a, b);
}

function json(body: unknown, status = 200): Response {
  return Response.json(body, { status });
}
