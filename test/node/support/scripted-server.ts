import { once } from "node:events";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** One scripted answer: status, headers and JSON body. */
export interface ScriptedAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

/** A plain node:http server answering from a script, for client behaviour tests (retries). */
export interface ScriptedServer {
  url: string;
  /** Requests received so far, in order. */
  requests: Array<{ method: string; url: string; headers: IncomingMessage["headers"] }>;
  close(): Promise<void>;
}

/**
 * Starts a server on 127.0.0.1 that answers request n with `answer(n)` (n from 0). Not a stand-in
 * for the vault: it exists to count attempts and to produce 429/503 on demand.
 */
export async function startScriptedServer(answer: (n: number) => ScriptedAnswer): Promise<ScriptedServer> {
  const requests: ScriptedServer["requests"] = [];
  const server: Server = createServer((req, res) => {
    const n = requests.length;
    requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
    req.resume();
    req.on("end", () => {
      const a = answer(n);
      res.writeHead(a.status, { "content-type": "application/json", ...a.headers });
      res.end(a.body === undefined ? undefined : JSON.stringify(a.body));
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The API's error body. */
export function errorBody(code: string, status: number): ScriptedAnswer {
  return { status, body: { error: { code, message: `scripted ${code}`, request_id: `req-${status}` } } };
}
