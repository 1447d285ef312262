/**
 * A test OIDC issuer, run as an auxiliary Worker in the workers test project. The vault's
 * OIDC_TEST_ISSUER service binding points here, so discovery documents and JWKS are served by a
 * real Worker over a real fetch, never the internet. Each test registers its own issuer path
 * (`PUT /__issuer/<id>` with `{ jwks }`), so tests running in parallel do not share keys.
 *
 * Served: `GET <origin>/<id>/.well-known/openid-configuration` and `GET <origin>/<id>/jwks.json`;
 * `GET /__issuer/<id>/stats` counts JWKS and discovery fetches of `<id>`, including those of an id
 * never registered (answered 404), for the refetch, caching and budget tests.
 */
const issuers = new Map<string, { jwks: unknown }>();
const counts = new Map<string, { jwksFetches: number; discoveryFetches: number }>();

function countsOf(id: string): { jwksFetches: number; discoveryFetches: number } {
  let c = counts.get(id);
  if (!c) counts.set(id, (c = { jwksFetches: 0, discoveryFetches: 0 }));
  return c;
}

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const control = /^\/__issuer\/([\w-]+)(\/stats)?$/.exec(url.pathname);
    if (control) {
      const id = control[1]!;
      if (control[2]) return Response.json(countsOf(id));
      const body = (await request.json()) as { jwks: unknown };
      issuers.set(id, { jwks: body.jwks });
      return Response.json({ ok: true });
    }
    const served = /^\/([\w-]+)\/(\.well-known\/openid-configuration|jwks\.json)$/.exec(url.pathname);
    if (!served) return new Response("not found", { status: 404 });
    const c = countsOf(served[1]!);
    if (served[2] === "jwks.json") c.jwksFetches++;
    else c.discoveryFetches++;
    const issuer = issuers.get(served[1]!);
    if (!issuer) return new Response("not found", { status: 404 });
    if (served[2] === "jwks.json") return Response.json(issuer.jwks);
    return Response.json({ issuer: `${url.origin}/${served[1]}`, jwks_uri: `${url.origin}/${served[1]}/jwks.json` });
  },
};
