/**
 * A test OIDC issuer, run as an auxiliary Worker in the workers test project. The vault's
 * OIDC_TEST_ISSUER service binding points here, so discovery documents and JWKS are served by a
 * real Worker over a real fetch, never the internet. Each test registers its own issuer path
 * (`PUT /__issuer/<id>` with `{ jwks }`), so tests running in parallel do not share keys.
 *
 * Served: `GET <origin>/<id>/.well-known/openid-configuration` and `GET <origin>/<id>/jwks.json`;
 * `GET /__issuer/<id>/stats` counts JWKS fetches (for refetch rate-limit tests).
 */
const issuers = new Map<string, { jwks: unknown; jwksFetches: number }>();

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const control = /^\/__issuer\/([\w-]+)(\/stats)?$/.exec(url.pathname);
    if (control) {
      const id = control[1]!;
      if (control[2]) return Response.json({ jwksFetches: issuers.get(id)?.jwksFetches ?? 0 });
      const body = (await request.json()) as { jwks: unknown };
      issuers.set(id, { jwks: body.jwks, jwksFetches: issuers.get(id)?.jwksFetches ?? 0 });
      return Response.json({ ok: true });
    }
    const served = /^\/([\w-]+)\/(\.well-known\/openid-configuration|jwks\.json)$/.exec(url.pathname);
    const issuer = served ? issuers.get(served[1]!) : undefined;
    if (!served || !issuer) return new Response("not found", { status: 404 });
    if (served[2] === "jwks.json") {
      issuer.jwksFetches++;
      return Response.json(issuer.jwks);
    }
    return Response.json({ issuer: `${url.origin}/${served[1]}`, jwks_uri: `${url.origin}/${served[1]}/jwks.json` });
  },
};
