import { parseCheckpoint } from "../../worker/core/audit/checkpoint";
import { toBase64, fromHex } from "../../worker/core/audit/encoding";
import { openNote, parseSignedNote } from "../../worker/core/audit/signed-note";
import { loadWitnessConfig, trustedLogFor, WitnessConfigError, type WitnessEnv } from "./config";
import { MAX_REQUEST_BYTES, parseAddCheckpoint, readBoundedText } from "./protocol";

/**
 * A C2SP tlog-witness (https://c2sp.org/tlog-witness) for the vault's audit logs, as its own
 * Worker with its own Durable Object and Ed25519 key, meant to run in a different Cloudflare
 * account than the vault: whoever controls the vault's storage then cannot also make the witness
 * cosign a rewritten history (docs/security-model.md "Witness").
 *
 *   POST <prefix>/add-checkpoint   the protocol: 200 cosignature lines, 400, 403, 404, 409 (+ size), 422
 *   GET  <prefix>/vkey             the witness's verifier key (`<name>+<id>+<base64(0x04‖key)>`)
 *   GET  <prefix>/checkpoint?origin=<origin>   the last checkpoint it cosigned for that origin
 */

export { WitnessLog } from "./witness-log";

const TEXT = { "content-type": "text/plain; charset=utf-8" };

function text(status: number, body: string, headers: Record<string, string> = TEXT): Response {
  return new Response(body.endsWith("\n") ? body : `${body}\n`, { status, headers });
}

export default {
  async fetch(request: Request, env: WitnessEnv): Promise<Response> {
    let config;
    try {
      config = await loadWitnessConfig(env);
    } catch (error) {
      // A misconfigured witness says so to its operator's logs, and cosigns nothing.
      console.error(error instanceof WitnessConfigError ? error.message : "witness config failed");
      return text(503, "witness is not configured");
    }
    const url = new URL(request.url);
    // tlog-witness names the endpoint `<prefix>/add-checkpoint`: the Worker may sit under a route
    // prefix (example.com/witness/*), so only the last path segment selects the endpoint.
    const endpoint = url.pathname.slice(url.pathname.lastIndexOf("/"));
    if (endpoint === "/vkey" && request.method === "GET") return text(200, config.vkey);
    if (endpoint === "/checkpoint" && request.method === "GET") {
      const origin = url.searchParams.get("origin") ?? "";
      if (!trustedLogFor(config, origin)) return text(404, "unknown log origin");
      const latest = await env.WITNESS_LOG.get(env.WITNESS_LOG.idFromName(origin)).latest();
      return latest.note === null ? text(404, "no checkpoint cosigned for this origin yet") : text(200, latest.note);
    }
    if (endpoint !== "/add-checkpoint") return text(404, "not found");
    if (request.method !== "POST")
      return new Response("POST only\n", { status: 405, headers: { ...TEXT, allow: "POST" } });
    return addCheckpoint(request, env, config);
  },
} satisfies ExportedHandler<WitnessEnv>;

async function addCheckpoint(
  request: Request,
  env: WitnessEnv,
  config: Awaited<ReturnType<typeof loadWitnessConfig>>,
): Promise<Response> {
  const body = await readBoundedText(request, MAX_REQUEST_BYTES);
  if (body === "too large") return text(413, `request body must be at most ${MAX_REQUEST_BYTES} bytes`);
  if (body === "not utf-8") return text(400, "request body is not UTF-8");
  const parsed = parseAddCheckpoint(body);
  if (!parsed.ok) return text(400, parsed.reason);
  const { oldSize, proof, note } = parsed.request;
  const syntax = parseSignedNote(note);
  if (!syntax.ok) return text(400, `checkpoint note: ${syntax.reason}`);
  const checkpoint = parseCheckpoint(syntax.note.text);
  if (!checkpoint.ok) return text(400, checkpoint.reason);
  const { origin, size, hash } = checkpoint.checkpoint;
  const log = trustedLogFor(config, origin);
  if (!log) return text(404, "unknown log origin");
  const opened = await openNote(note, [log.verifier]);
  if (!opened.ok) return text(403, `log signature: ${opened.reason}`);
  if (oldSize > size) return text(400, `old size ${oldSize} is larger than the checkpoint size ${size}`);
  const outcome = await env.WITNESS_LOG.get(env.WITNESS_LOG.idFromName(origin)).addCheckpoint({
    oldSize,
    size,
    root: toBase64(fromHex(hash)!),
    proof: proof.map(toBase64),
    body: syntax.note.text,
    note,
  });
  switch (outcome.status) {
    case 200:
      return text(200, outcome.lines);
    case 409:
      // tlog-witness: the body is the witness's size, so the log can resend a proof from it.
      return text(409, `${outcome.size}\n`, { "content-type": "text/x.tlog.size" });
    default:
      return text(outcome.status, outcome.reason);
  }
}
