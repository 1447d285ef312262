// Turns off the DevTools Network domain that `wrangler dev` enables on the vault's isolate.
//
// wrangler's InspectorProxyWorker (in its proxy workerd) attaches to the user Worker's inspector
// and sends `Network.enable`, so workerd reports every subrequest (a KMS call through the
// emulator's service binding, a D1 query, an upstream fetch) as DevTools events. The proxy relays
// each event to wrangler's Node process as a debug log, whether or not DevTools is open: measured
// here at about 4 ms of CPU per subrequest, on the core the vault runs on, which no deployed
// Worker pays. The proxy forwards a DevTools client's commands to the runtime verbatim, so one
// `Network.disable` from a client of our own switches the events off for the whole session.

import WebSocket from "ws";

const TIMEOUT_MS = 10_000;

/** Resolves once `ws` is open; rejects on an error or after TIMEOUT_MS. */
function opened(ws, url) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`inspector ${url}: not open in ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
    ws.once("open", () => {
      clearTimeout(timer);
      resolve();
    });
    ws.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** Sends one DevTools command on an open socket and resolves with its result (rejects on error or timeout). */
function command(ws, id, method) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${method}: no answer in ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
    const onMessage = (data) => {
      const msg = JSON.parse(String(data));
      if (msg.id !== id) return;
      clearTimeout(timer);
      ws.off("message", onMessage);
      if (msg.error) reject(new Error(`${method}: ${msg.error.message}`));
      else resolve(msg.result);
    };
    ws.on("message", onMessage);
    ws.send(JSON.stringify({ id, method }));
  });
}

/**
 * Connects to every inspector target wrangler lists on `port` and disables the Network domain.
 * Returns the open sockets' closer: the proxy re-enables the domain only when the runtime
 * reconnects (a restart), so the sockets stay open for the vault's lifetime.
 */
export async function quietDevtoolsNetwork(host, port) {
  const targets = await (
    await fetch(`http://${host}:${port}/json`, { signal: AbortSignal.timeout(TIMEOUT_MS) })
  ).json();
  if (!Array.isArray(targets) || targets.length === 0) throw new Error(`no inspector target on ${host}:${port}`);
  const sockets = [];
  try {
    for (const target of targets) {
      const ws = new WebSocket(target.webSocketDebuggerUrl);
      sockets.push(ws);
      await opened(ws, target.webSocketDebuggerUrl);
      // Kept open while wrangler runs: a reset when its group is stopped must not become an
      // unhandled 'error' event that ends the bench.
      ws.on("error", () => {});
      await command(ws, 1, "Network.disable");
    }
  } catch (error) {
    for (const ws of sockets) ws.terminate();
    throw error;
  }
  return () => {
    for (const ws of sockets) ws.close();
  };
}
