import { WorkerEntrypoint } from "cloudflare:workers";

/**
 * The in-repo stand-in for the Workers Analytics Engine dataset (bound as METRICS_TEST_SINK in
 * vitest.config.ts; config.ts refuses that binding in production). Locally miniflare's own
 * Analytics Engine binding drops every point, so tests could not see what the vault writes; this
 * Worker keeps each point by its index (the tenant id) for `pointsFor` to read back. It is not a
 * mock of the workerd API: the vault calls it exactly as it calls Analytics Engine
 * (`writeDataPoint(point)`, fire and forget).
 */

/** At most this many points per tenant, so a long test run cannot grow it without bound. */
const MAX_PER_INDEX = 1000;
const points = new Map<string, AnalyticsEngineDataPoint[]>();

/** The stand-in dataset. */
export default class MetricsSink extends WorkerEntrypoint {
  /** As Analytics Engine's `writeDataPoint`. */
  writeDataPoint(point: AnalyticsEngineDataPoint): void {
    const index = String(point.indexes?.[0] ?? "");
    const list = points.get(index) ?? [];
    if (list.length < MAX_PER_INDEX) list.push(point);
    points.set(index, list);
  }

  /** The points written with `index` as their index, oldest first. */
  pointsFor(index: string): AnalyticsEngineDataPoint[] {
    return points.get(index) ?? [];
  }

  override fetch(): Response {
    return new Response("metrics sink: RPC only", { status: 404 });
  }
}
