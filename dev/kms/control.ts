import { z } from "zod";
import { timingSafeEqual } from "../../worker/core/crypto/primitives";
import { sha256 } from "../../worker/core/crypto/sha256";

/**
 * Test controls of the development emulator: injected faults and per-tenant call counts.
 *
 * The state lives in module scope, so it is per isolate: right for one local process
 * (`wrangler dev`, the vitest pool's auxiliary worker), meaningless on a deployed, multi-isolate
 * Worker — which the emulator must never be. Faults and counts are keyed by a scope each
 * emulator takes from the request (AWS and GCP: the context's tenant_id; Azure: the key name),
 * so test files running in parallel against one emulator each use their own scope and do not see
 * one another's faults. The three emulators share this module but not its state: each is its own
 * bundle and Worker.
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
const calls = new Map<string | null, Map<string, number>>();

/** Counts one authenticated call of `op` for `tenantId`. */
export function recordCall(tenantId: string | null, op: string): void {
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

/** Handles `/__control/*`; requires `x-emulator-control: <controlSecret>` (the emulator's API secret). */
export async function handleControl(request: Request, controlSecret: string): Promise<Response> {
  if (!(await sameSecret(request.headers.get("x-emulator-control") ?? "", controlSecret))) {
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
        return json(
          { error: parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ") },
          400,
        );
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
function countsFor(tenantId: string | null): Map<string, number> {
  if (tenantId !== null) return calls.get(tenantId) ?? new Map();
  const total = new Map<string, number>();
  for (const counts of calls.values()) {
    for (const [op, n] of counts) total.set(op, (total.get(op) ?? 0) + n);
  }
  return total;
}

/** Constant-time comparison; hashing first gives equal lengths, which timingSafeEqual requires. */
export async function sameSecret(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([sha256(given), sha256(expected)]);
  return timingSafeEqual(a, b);
}

function json(body: unknown, status = 200): Response {
  return Response.json(body, { status });
}

/**
 * Applies a fault taken by `takeFault` to a non-AWS emulator's request: waits out a delay (and
 * returns undefined, so the request proceeds), or answers with the provider's own 5xx or
 * throttling reply, or with a 200 that is not the API's JSON at all (a proxy's error page).
 */
export async function faultResponse(
  fault: FaultAction | undefined,
  replies: { error: () => Response; throttle: () => Response },
): Promise<Response | undefined> {
  switch (fault?.mode) {
    case undefined:
      return undefined;
    case "delay":
      await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
      return undefined;
    case "error":
      return replies.error();
    case "throttle":
      return replies.throttle();
    case "garbage":
      return new Response("<html><body>502 Bad Gateway (injected)</body></html>", {
        status: 200,
        headers: { "content-type": "text/html" },
      });
  }
}

/** Issued bearer tokens of one emulator (per isolate, like the faults), by token, with their expiry. */
export class IssuedTokens {
  readonly #tokens = new Map<string, number>();

  /** Issues a random token valid for `ttlSeconds`. */
  issue(ttlSeconds: number, now = Date.now()): string {
    // Expired tokens are dropped as new ones are issued, so the map stays small in long dev runs.
    for (const [token, expiresAt] of this.#tokens) if (expiresAt <= now) this.#tokens.delete(token);
    const token = `emu.${[...crypto.getRandomValues(new Uint8Array(24))].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
    this.#tokens.set(token, now + ttlSeconds * 1000);
    return token;
  }

  /** Whether `authorization` is `Bearer <a token issued here and not expired>`. */
  check(authorization: string | null, now = Date.now()): boolean {
    const match = /^Bearer (\S+)$/.exec(authorization ?? "");
    const expiresAt = match ? this.#tokens.get(match[1]!) : undefined;
    return expiresAt !== undefined && expiresAt > now;
  }
}
