/**
 * The upstream API of the credential proxy tests (bound as USE_TEST_UPSTREAM in vitest.config.ts).
 * It answers by path, for any host, and echoes what it received so tests can check what the vault
 * sent:
 * - `/v1/echo`: JSON `{ method, url, headers, body }` of the request as received;
 * - `/v1/leak`: the bearer value it was sent, raw in a header and raw, base64, base64url, hex
 *   (both cases) and URL-encoded in the body, as a hostile or careless API might;
 * - `/v1/redirect`: a 302 to another origin;
 * - `/v1/big?bytes=N`: N bytes;
 * - `/v1/slow`: waits 5 s, for timeouts;
 * - `/v1/broken`: a body that fails half way, as a dropped connection does;
 * - `/v1/status?code=N`: an empty answer with status N.
 */
function bytesToBinary(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => String.fromCharCode(b)).join("");
}

/** The encodings of `value` the proxy must scrub, by name. */
export function encodingsOf(value: string): Record<string, string> {
  const bytes = new TextEncoder().encode(value);
  const b64 = btoa(bytesToBinary(bytes));
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return {
    raw: value,
    base64: b64,
    base64url: b64.replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_"),
    hex,
    hex_upper: hex.toUpperCase(),
    url: encodeURIComponent(value),
  };
}

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    switch (url.pathname) {
      case "/v1/echo":
      case "/v1/chat/completions": {
        const body = request.body ? await request.text() : null;
        return Response.json({
          method: request.method,
          url: request.url,
          headers: Object.fromEntries(request.headers),
          body,
        });
      }
      case "/v1/leak": {
        const value = (request.headers.get("authorization") ?? "").replace(/^Bearer /, "");
        return new Response(JSON.stringify(encodingsOf(value)), {
          headers: { "content-type": "application/json", "x-echo": value, "x-plain": "nothing secret" },
        });
      }
      case "/v1/redirect":
        return new Response(null, { status: 302, headers: { location: "https://elsewhere.example.net/steal" } });
      case "/v1/big":
        return new Response(new Uint8Array(Number(url.searchParams.get("bytes") ?? "0")).fill(97));
      case "/v1/slow":
        await new Promise((resolve) => setTimeout(resolve, 5000));
        return new Response("late");
      case "/v1/broken": {
        const stream = new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new TextEncoder().encode("partial"));
            controller.error(new Error("connection reset"));
          },
        });
        return new Response(stream);
      }
      case "/v1/status":
        return new Response(null, { status: Number(url.searchParams.get("code") ?? "200") });
      default:
        return new Response("no such upstream path", { status: 404 });
    }
  },
};
