import { z } from "zod";

/**
 * Test-only fault injection (issue 18 §2). A TenantVault holds one FaultHook; it does nothing
 * until a test arms it through `TenantVault.setFaultsForTest`, which is refused unless the
 * configuration allows test hooks (worker/contract/config.ts `allowsTestHooks`, never in production).
 * Production pays one property check at each named point, and its D1 binding is never wrapped.
 */

/** Named moments at which a test can abort the object (`ctx.abort()`). */
export const FAULT_POINTS = [
  "after-outbox-commit",
  "after-d1-write",
  "mid-expiry-batch",
  "mid-kek-sweep",
  "mid-checkpoint",
  "mid-root-rewrap",
] as const;
/** One named moment. */
export type FaultPoint = (typeof FAULT_POINTS)[number];

/** The steps of the object's alarm, each of which a test can make throw. */
export const ALARM_STEPS = [
  "outbox",
  "refusals",
  "expiry",
  "access-expiry",
  "kek-sweep",
  "idempotency",
  "checkpoint",
  "merkle",
  "witness",
] as const;
/** One alarm step. */
export type AlarmStep = (typeof ALARM_STEPS)[number];

/** What a D1 call does while armed: throw, wait until the faults are cleared, or run and then abort the object. */
const D1ModeSchema = z.enum(["fail", "hang", "abort-after"]);

/** The faults a test arms; `null` clears them. Reads are SELECTs; writes are everything else and batches. */
export const FaultsSchema = z
  .strictObject({
    d1Reads: D1ModeSchema.optional(),
    d1Writes: D1ModeSchema.optional(),
    abortAt: z.enum(FAULT_POINTS).optional(),
    failSteps: z.array(z.enum(ALARM_STEPS)).optional(),
    /** Shortens the outbox's D1 apply timeout so a test of a hanging D1 need not wait for the real one. */
    applyTimeoutMs: z.number().int().min(1).max(60_000).optional(),
  })
  .nullable();
/** Armed faults. */
export type Faults = z.output<typeof FaultsSchema>;

/** The message of an injected D1 failure; shaped like the platform's own (`D1_ERROR: ...`). */
export const INJECTED_D1_ERROR = "D1_ERROR: injected fault: D1 is unavailable";

/** One object's fault state. */
export class FaultHook {
  #faults: Faults = null;
  #released: (() => void) | null = null;
  #release: Promise<void> = Promise.resolve();

  /** `abortNow` is `ctx.abort()`; `durable` waits for the object's writes to be durable (`storage.sync()`). */
  constructor(
    private readonly abortNow: (reason: string) => void,
    private readonly durable: () => Promise<void>,
  ) {}

  async #abort(reason: string): Promise<void> {
    await this.durable();
    this.abortNow(reason);
  }

  /** Arms (or with null, clears) the faults; clearing releases every hanging D1 call. */
  arm(faults: Faults): void {
    this.#faults = faults;
    this.#released?.();
    this.#released = null;
    if (faults) this.#release = new Promise((resolve) => (this.#released = resolve));
  }

  /**
   * Aborts the object if a test armed this point, once what it wrote so far is durable: the crash
   * that matters comes after a commit (one before it is the same as the commit never happening).
   * The production cost is this one check.
   */
  async point(name: FaultPoint): Promise<void> {
    if (this.#faults?.abortAt === name) await this.#abort(`injected abort at ${name}`);
  }

  /**
   * The synchronous form of `point`, for a point inside a `transactionSync` (mid-expiry-batch):
   * the abort throws there, so the batch rolls back as a crash before its commit would.
   */
  pointSync(name: FaultPoint): void {
    if (this.#faults?.abortAt === name) this.abortNow(`injected abort at ${name}`);
  }

  /** The D1 apply timeout: `normal`, unless a test shortened it. */
  applyTimeout(normal: number): number {
    return this.#faults?.applyTimeoutMs ?? normal;
  }

  /** Throws if a test armed this alarm step to fail. */
  step(name: AlarmStep): void {
    if (this.#faults?.failSteps?.includes(name)) throw new Error(`injected failure of alarm step ${name}`);
  }

  /** Runs one D1 call under the armed fault for its kind. */
  async d1<T>(kind: "read" | "write", call: () => Promise<T>): Promise<T> {
    const mode = kind === "read" ? this.#faults?.d1Reads : this.#faults?.d1Writes;
    if (mode === "fail") throw new Error(INJECTED_D1_ERROR);
    if (mode === "hang") {
      await this.#release;
      return this.d1(kind, call);
    }
    const result = await call();
    if (mode === "abort-after") await this.#abort("injected abort after a D1 call");
    return result;
  }
}

const READ_METHODS = new Set<PropertyKey>(["all", "raw", "first"]);
const unwrapped = new WeakMap<object, D1PreparedStatement>();

function faultyStatement(real: D1PreparedStatement, query: string, hook: FaultHook): D1PreparedStatement {
  // drizzle reads through all/raw/first: a SELECT is a read, anything else (and `run`) a write.
  const kind = /^\s*select/i.test(query) ? "read" : "write";
  const wrapped = new Proxy(real, {
    get(target, prop) {
      if (prop === "bind") return (...values: unknown[]) => faultyStatement(target.bind(...values), query, hook);
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== "function") return value;
      const method = (value as (...args: unknown[]) => unknown).bind(target);
      if (prop === "run") return (...args: unknown[]) => hook.d1("write", async () => method(...args));
      if (READ_METHODS.has(prop)) return (...args: unknown[]) => hook.d1(kind, async () => method(...args));
      return method;
    },
  });
  unwrapped.set(wrapped, real);
  return wrapped;
}

/**
 * The D1 binding as an object under test sees it: every call passes the fault hook. Only built
 * when the configuration allows test hooks; production uses the binding itself.
 */
export function faultyD1(real: D1Database, hook: FaultHook): D1Database {
  return new Proxy(real, {
    get(target, prop) {
      if (prop === "prepare") return (query: string) => faultyStatement(target.prepare(query), query, hook);
      if (prop === "batch") {
        return (statements: D1PreparedStatement[]) =>
          hook.d1("write", () => target.batch(statements.map((s) => unwrapped.get(s) ?? s)));
      }
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
