import { env, runDurableObjectAlarm } from "cloudflare:test";
import { expect } from "vitest";
import { vaultStub } from "../../../worker/routes/define";
import { api, expectStatus, type ErrorBody } from "../helpers";

/** A lease as the API shows it. */
export interface LeaseBody {
  id: string;
  credential_id: string;
  credential_name: string;
  version: number;
  identity: string;
  token_id: string;
  agent: Record<string, string> | null;
  purpose: string | null;
  issued_at: string;
  expires_at: string;
  max_expires_at: string;
  state: "active" | "expired" | "revoked";
  ended_at: string | null;
  revoked_by: string | null;
}

/** One stored audit entry as GET /v1/audit shows it. */
export interface AuditItem {
  seq: number;
  entry: {
    type: string;
    ts: string;
    actor: { identity: string; token_id?: string; agent?: Record<string, string> };
    target: { kind: string; id: string; version?: number } | null;
    outcome: string;
    details: Record<string, unknown>;
  };
}

/** An error body (the shared one, under the name the lease tests use). */
export type ErrorResponse = ErrorBody;

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
const YEAR = 365 * 24 * HOUR;

/** A well-formed lease id that names no lease. */
export const MISSING_LEASE_ID = "lease_000000000000000000000000";

/** Creates a credential with explicit TTL settings; returns its metadata. */
export async function makeCredential(
  token: string,
  name: string,
  value: string,
  ttl: { default_ttl?: string; max_ttl?: string } = {},
) {
  const res = await api(token, "POST", "/v1/credentials", { name, value, ...ttl });
  return expectStatus<{ id: string; name: string; default_ttl: number; max_ttl: number }>(res, 201);
}

/** Leases a credential; the request must succeed. */
export async function lease(
  token: string,
  body: Record<string, unknown>,
): Promise<{ lease: LeaseBody; value: string }> {
  return expectStatus<{ lease: LeaseBody; value: string }>(await api(token, "POST", "/v1/leases", body), 201);
}

/** GET /v1/leases/:id, which must succeed. */
export async function getLease(token: string, id: string): Promise<LeaseBody> {
  return expectStatus<LeaseBody>(await api(token, "GET", `/v1/leases/${id}`), 200);
}

/** Every lease the token may list (follows cursors). */
export async function listAll(token: string, query = ""): Promise<LeaseBody[]> {
  const out: LeaseBody[] = [];
  let cursor: string | null = null;
  do {
    const sep = query ? "&" : "";
    const path: string = `/v1/leases?limit=100${sep}${query}${cursor ? `&cursor=${cursor}` : ""}`;
    const page = await expectStatus<{ items: LeaseBody[]; next_cursor: string | null }>(
      await api(token, "GET", path),
      200,
    );
    out.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor !== null);
  return out;
}

/** Every audit entry of a type (follows pages). */
export async function auditOfType(token: string, type: string): Promise<AuditItem[]> {
  const out: AuditItem[] = [];
  let from: number | null = 1;
  while (from !== null) {
    const page: { items: AuditItem[]; next_from_seq: number | null } = await expectStatus(
      await api(token, "GET", `/v1/audit?type=${type}&limit=1000&from_seq=${from}`),
      200,
    );
    out.push(...page.items);
    from = page.next_from_seq;
  }
  return out;
}

/** One lease named in a `leases.expired` entry, with the entry that named it. */
export interface ExpiredLease {
  lease_id: string;
  holder: string;
  expired_at: string;
  item: AuditItem;
}

/**
 * Every lease the expiry sweep recorded, in log order: `leases.expired` entries (one per
 * credential version and chunk, docs/audit-events.md) flattened to one row per lease.
 */
export async function expiredLeases(token: string): Promise<ExpiredLease[]> {
  return (await auditOfType(token, "leases.expired")).flatMap((item) =>
    (item.entry.details.leases as Omit<ExpiredLease, "item">[]).map((l) => ({ ...l, item })),
  );
}

/** Seconds between two API timestamps. */
export const secondsBetween = (from: string, to: string): number => (Date.parse(to) - Date.parse(from)) / 1000;

/**
 * The tenant's injectable clock. Starts a year in the real future, so every alarm the vault
 * sets lies in the real future and never fires by itself: only `runAlarm` runs it.
 */
export class TestClock {
  readonly start: number;
  #now: number;
  constructor(readonly tenantId: string) {
    this.start = Math.floor((Date.now() + YEAR) / 1000) * 1000;
    this.#now = this.start;
  }

  /** Sets the clock and flushes any alarm armed on real time before it (e.g. a checkpoint at bootstrap + 60 s). */
  static async freeze(tenantId: string): Promise<TestClock> {
    const clock = new TestClock(tenantId);
    await clock.set(clock.start);
    await clock.runAlarm();
    return clock;
  }

  get now(): number {
    return this.#now;
  }

  /** Moves the clock to `start + offset` ms. */
  async at(offset: number): Promise<void> {
    await this.set(this.start + offset);
  }

  async set(ms: number): Promise<void> {
    expect(ms, "the test clock only moves forward").toBeGreaterThanOrEqual(this.#now);
    this.#now = ms;
    await vaultStub(env, this.tenantId).setClockForTest(ms);
  }

  /** Runs the tenant's alarm now, if one is set. */
  runAlarm(): Promise<boolean> {
    return runDurableObjectAlarm(vaultStub(env, this.tenantId));
  }

  iso(offset: number): string {
    return new Date(this.start + offset).toISOString();
  }
}
