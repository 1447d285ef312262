import { VaultClient } from "@ghoststack/vault-sdk";

/** The app's bindings: Vault behind a service binding, and the app's own Vault API token (a secret). */
export interface Env {
  VAULT: Fetcher;
  VAULT_TOKEN: string;
}

/** GET /upstream: leases the "openai" credential for one minute and reports it was obtained (never its value). */
export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    if (new URL(request.url).pathname !== "/upstream") return new Response("not found", { status: 404 });
    // The host is a placeholder: a service binding ignores it.
    const vault = new VaultClient({
      url: "https://vault.internal",
      token: env.VAULT_TOKEN,
      fetch: (input, init) => env.VAULT.fetch(input, init),
    });
    const lease = await vault.lease("openai", { ttl: "1m", purpose: "example upstream call" });
    try {
      // A real app would call its upstream API with lease.value here.
      return Response.json({ leased: true, length: lease.value.length });
    } finally {
      await lease.revoke();
    }
  },
} satisfies ExportedHandler<Env>;
