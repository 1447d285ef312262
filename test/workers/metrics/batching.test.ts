import { describe, expect, it } from "vitest";
import { METRICS_READ, MetricsRecorder, SAVE_EVERY_MS } from "../../../durable-objects/metrics/recorder";
import { newTenantId } from "../../../worker/core/ids";
import { withSql } from "../audit-log/helpers";

/**
 * The minute's row is written at most once per SAVE_EVERY_MS of real time (issue 16), the rest
 * waiting in memory; a read saves first. Driven on a real object's storage inside one synchronous
 * block, where workerd's clock does not move (it advances only with I/O), so "within a second"
 * holds without any timing assumption.
 */

const MINUTE = 29_000_000; // an arbitrary minute since the epoch
const at = (minute: number) => minute * 60_000 + 1;
const ok = { ok: true as const, value: null };
const label = { operation: "leases.create", code: "ok" };

function requestsIn(sql: SqlStorage, minute: number): number {
  const row = sql.exec<{ requests: number }>("SELECT requests FROM metrics_minutes WHERE minute = ?", minute).toArray();
  return row[0]?.requests ?? 0;
}

describe("metrics rows are saved at most once a second, never losing a count that is read", () => {
  it("saves the first request, holds the next ones, and a read (save now) stores them all", async () => {
    expect(SAVE_EVERY_MS).toBeLessThanOrEqual(1000);
    const counts = await withSql(newTenantId(), (sql, storage) => {
      const recorder = new MetricsRecorder();
      const seen: number[] = [];
      for (let i = 0; i < 5; i++) {
        recorder.request("leases.create", ok, 1);
        recorder.flush(storage, "t", at(MINUTE), undefined, label);
        seen.push(requestsIn(sql, MINUTE));
      }
      // Positive control: the read's save stores every count that waited.
      recorder.flush(storage, "t", at(MINUTE), undefined, METRICS_READ);
      seen.push(requestsIn(sql, MINUTE));
      return seen;
    });
    expect(counts).toEqual([1, 1, 1, 1, 1, 5]);
  });

  it("writes counts waiting for one minute to that minute's row when the next minute begins", async () => {
    const rows = await withSql(newTenantId(), (sql, storage) => {
      const recorder = new MetricsRecorder();
      for (const minute of [MINUTE, MINUTE, MINUTE + 1, MINUTE + 1]) {
        recorder.request("leases.create", ok, 1);
        recorder.flush(storage, "t", at(minute), undefined, label);
      }
      recorder.flush(storage, "t", at(MINUTE + 1), undefined, METRICS_READ);
      return [requestsIn(sql, MINUTE), requestsIn(sql, MINUTE + 1)];
    });
    expect(rows).toEqual([2, 2]);
  });

  it("sends one data point per request whether or not the row was written", async () => {
    const points: AnalyticsEngineDataPoint[] = [];
    const sink = { writeDataPoint: (p?: AnalyticsEngineDataPoint) => void points.push(p!) };
    await withSql(newTenantId(), (_sql, storage) => {
      const recorder = new MetricsRecorder();
      for (let i = 0; i < 3; i++) {
        recorder.request("leases.create", ok, 1);
        recorder.flush(storage, "t", at(MINUTE), sink, label);
      }
    });
    expect(points).toHaveLength(3);
    expect(points.every((p) => p.indexes?.[0] === "t")).toBe(true);
  });
});
