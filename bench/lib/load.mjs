// Load generation with Node's own http client and keep-alive agents. Every loop is bounded both
// in time and in request count; latencies go into preallocated arrays of that bound.

import http from "node:http";
import { performance } from "node:perf_hooks";

/** A request template: method, path (or a function of the request index), headers and body. */
/** @typedef {{ method: string, path: string | ((i: number) => string), headers?: Record<string,string> | ((i: number) => Record<string,string>), body?: string | ((i: number) => string), expect?: number }} Target */

/** A keep-alive agent with `sockets` connections at most. */
export function agent(sockets) {
  return new http.Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets });
}

/** One request; resolves with { status, body } (body only when `wantBody`). Never rejects. */
export function request(base, target, i, ag, wantBody = false) {
  return new Promise((resolve) => {
    const url = new URL(typeof target.path === "function" ? target.path(i) : target.path, base);
    const body = typeof target.body === "function" ? target.body(i) : target.body;
    const headers = { ...((typeof target.headers === "function" ? target.headers(i) : target.headers) ?? {}) };
    if (body !== undefined) headers["content-length"] = Buffer.byteLength(body);
    const req = http.request(url, { method: target.method, agent: ag, headers, timeout: 30_000 }, (res) => {
      const chunks = [];
      res.on("data", (c) => wantBody && chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode, body: wantBody ? Buffer.concat(chunks).toString("utf8") : undefined }),
      );
      res.on("error", (e) => resolve({ status: 0, error: String(e) }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (e) => resolve({ status: 0, error: String(e) }));
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** JSON helper for setup calls: throws on an unexpected status. */
export async function json(base, ag, method, path, { token, body, headers = {}, expect = [200, 201] } = {}) {
  const h = { ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  let text;
  if (body !== undefined) {
    h["content-type"] = "application/json";
    text = JSON.stringify(body);
  }
  const res = await request(base, { method, path, headers: h, body: text }, 0, ag, true);
  if (!expect.includes(res.status))
    throw new Error(`${method} ${path} answered ${res.status}: ${res.body ?? res.error}`);
  return res.body ? JSON.parse(res.body) : undefined;
}

/** Percentiles (ms) of a latency sample. */
export function summarize(latencies) {
  const sorted = Float64Array.from(latencies).sort();
  const at = (q) => (sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]);
  const mean = sorted.length === 0 ? null : sorted.reduce((a, b) => a + b, 0) / sorted.length;
  return {
    n: sorted.length,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    p999: at(0.999),
    max: sorted.length ? sorted[sorted.length - 1] : null,
    mean,
  };
}

/**
 * Closed loop: `concurrency` workers each send the next request as soon as the last answered,
 * until `durationMs` has passed or `maxRequests` were sent. `warmupMs` of traffic first, not
 * counted. Also reports the load generator's own CPU use, to show when the client is the bound.
 */
export async function closedLoop(
  base,
  target,
  { concurrency = 16, durationMs = 5000, maxRequests = 500_000, warmupMs = 500, serverCpu } = {},
) {
  const ag = agent(concurrency);
  const expect = target.expect ?? 200;
  let next = 0;
  const run = async (ms, record) => {
    const lat = record ? new Float64Array(maxRequests) : null;
    let n = 0,
      errors = 0,
      firstError;
    const end = performance.now() + ms;
    const worker = async () => {
      while (performance.now() < end && n < maxRequests) {
        const slot = n++;
        const t0 = performance.now();
        const res = await request(base, target, next++, ag);
        const dt = performance.now() - t0;
        if (res.status !== expect) {
          errors++;
          firstError ??= `${res.status} ${res.error ?? ""}`;
        }
        if (lat) lat[slot] = dt;
      }
    };
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    await Promise.all(Array.from({ length: concurrency }, worker));
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    return {
      n,
      errors,
      firstError,
      wallMs: wall,
      lat: lat ? lat.subarray(0, n) : null,
      clientCpu: (cpu.user + cpu.system) / 1000 / wall,
    };
  };
  if (warmupMs > 0) await run(warmupMs, false);
  const cpu0 = serverCpu?.();
  const r = await run(durationMs, true);
  const serverCpuS = serverCpu ? serverCpu() - cpu0 : null;
  ag.destroy();
  return {
    rps: r.n / (r.wallMs / 1000),
    requests: r.n,
    errors: r.errors,
    firstError: r.firstError,
    clientCpu: r.clientCpu,
    // Server CPU (whole wrangler group) per request, and the share of a core it got meanwhile.
    serverCpuMsPerReq: serverCpuS === null || r.n === 0 ? null : (serverCpuS * 1000) / r.n,
    serverCpuShare: serverCpuS === null ? null : serverCpuS / (r.wallMs / 1000),
    ...summarize(r.lat),
  };
}

/**
 * Open loop at a fixed rate: request i is due at start + i/rate and its latency is measured from
 * that due time, so queueing behind a slow server counts (no coordinated omission). At most
 * `maxInFlight` outstanding; requests beyond that are counted as dropped (server saturated).
 * `onTick(elapsedMs)` lets a scenario act during the run; `stop()` in its return ends early.
 * Returns per-request (dueMs, latencyMs) so a scenario can window the results.
 */
export async function openLoop(base, target, { rate, durationMs, maxInFlight = 512, sockets = 64, until } = {}) {
  const ag = agent(sockets);
  const expect = target.expect ?? 200;
  const total = Math.min(Math.ceil((rate * durationMs) / 1000), 2_000_000);
  const due = new Float64Array(total);
  const lat = new Float64Array(total).fill(NaN);
  let sent = 0,
    inFlight = 0,
    dropped = 0,
    errors = 0,
    firstError;
  const start = performance.now();
  const done = [];
  await new Promise((resolve) => {
    const tick = () => {
      const now = performance.now() - start;
      const stopNow = until?.(now) === true;
      while (!stopNow && sent < total && (sent / rate) * 1000 <= now) {
        const i = sent++;
        due[i] = (i / rate) * 1000;
        if (inFlight >= maxInFlight) {
          dropped++;
          continue;
        }
        inFlight++;
        done.push(
          request(base, target, i, ag).then((res) => {
            inFlight--;
            lat[i] = performance.now() - start - due[i];
            if (res.status !== expect) {
              errors++;
              firstError ??= `${res.status} ${res.error ?? ""}`;
            }
          }),
        );
      }
      if (stopNow || sent >= total) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  await Promise.all(done);
  ag.destroy();
  const got = [];
  for (let i = 0; i < sent; i++) if (!Number.isNaN(lat[i])) got.push(lat[i]);
  return {
    rate,
    sent,
    dropped,
    errors,
    firstError,
    achievedRps: got.length / ((performance.now() - start) / 1000),
    ...summarize(got),
    due: due.subarray(0, sent),
    lat: lat.subarray(0, sent),
  };
}

/** Latencies of an open-loop result whose due time falls in [fromMs, toMs). */
export function windowed(result, fromMs, toMs) {
  const out = [];
  for (let i = 0; i < result.due.length; i++)
    if (result.due[i] >= fromMs && result.due[i] < toMs && !Number.isNaN(result.lat[i])) out.push(result.lat[i]);
  return out;
}

/** Median of numbers (nulls ignored). */
export function median(values) {
  const v = values.filter((x) => typeof x === "number" && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
}
