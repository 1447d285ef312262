import { z } from "zod";
import { base64urlToBytes, bytesToBase64url } from "../../worker/core/crypto/encoding";
import { IssuedTokens, faultResponse, handleControl, recordCall, takeFault } from "../kms/control";
import { loadAzureEmulatorConfig, type AzureEmulatorConfig, type AzureEmulatorEnv, type EmulatedKey } from "./config";
import { handleEntraToken } from "./entra";

/**
 * Development Azure Key Vault: a Worker speaking the Key Vault keys REST API (GET key, wrapkey,
 * unwrapkey, encrypt, decrypt) for one RSA key and one Managed-HSM-style AES key, and Entra's
 * client-credentials token endpoint, so the vault runs its real `azure` provider code in
 * development and tests. Key routes need a token this emulator issued; without one they answer
 * Key Vault's 401 challenge (`WWW-Authenticate`), which the Azure SDK relies on. Never deploy it:
 * the keys sit in its bindings.
 *
 * Test scopes: a key may also be addressed as `<name>--<scope>` (same key material). Faults and
 * stats (dev/kms/control.ts) are keyed by that full name, since wrapkey carries no tenant
 * context to scope them by.
 */

export type { AzureEmulatorEnv } from "./config";

const API_VERSIONS = new Set(["7.0", "7.1", "7.2", "7.3", "7.4", "7.5", "7.6", "2025-07-01"]);
const MAX_VALUE_BYTES = 4096;
const tokens = new IssuedTokens();

const OperationInput = z.object({ alg: z.string().min(1).max(32), value: z.string().min(1).max(8192) });

/** A Key Vault error body. */
function kvError(status: number, code: string, message: string, headers: Record<string, string> = {}): Response {
  return Response.json({ error: { code, message } }, { status, headers });
}

export default {
  async fetch(request: Request, env: AzureEmulatorEnv): Promise<Response> {
    let config: AzureEmulatorConfig;
    try {
      config = await loadAzureEmulatorConfig(env);
    } catch (error) {
      console.error(String(error));
      return kvError(500, "InternalServerError", "Key Vault emulator misconfigured; see its log");
    }
    const url = new URL(request.url);
    if (url.pathname.startsWith("/__control/")) return handleControl(request, config.controlSecret);
    const token = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(url.pathname);
    if (token) return handleEntraToken(request, decodeURIComponent(token[1]!), config, tokens);
    try {
      return await handleKeys(request, url, config);
    } catch (error) {
      console.error("Key Vault emulator internal error", error);
      return kvError(500, "InternalServerError", "internal error");
    }
  },
} satisfies ExportedHandler<AzureEmulatorEnv>;

async function handleKeys(request: Request, url: URL, config: AzureEmulatorConfig): Promise<Response> {
  // /keys/{name}, /keys/{name}/{version}, /keys/{name}/{version?}/{operation} (the JS SDK sends
  // an empty version as `//`; .NET capitalises operations, so match them case-insensitively).
  const route = /^\/keys\/([A-Za-z0-9-]+)(?:\/([A-Za-z0-9]*))?(?:\/([A-Za-z]+))?\/?$/.exec(url.pathname);
  if (!route) return kvError(404, "NotFound", "The requested resource was not found.");
  // Authenticate first: Key Vault's challenge tells the SDK which authority and resource to use.
  if (!tokens.check(request.headers.get("authorization"))) {
    const challenge = `Bearer authorization="https://login.microsoftonline.com/${config.tenantId}", resource="https://vault.azure.net"`;
    return kvError(401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.", {
      "www-authenticate": challenge,
    });
  }
  if (!API_VERSIONS.has(url.searchParams.get("api-version") ?? "")) {
    return kvError(
      400,
      "BadParameter",
      "The specified version of the API is not supported or is missing (api-version).",
    );
  }
  const [, fullName = "", second = "", third] = route;
  // `/keys/{name}/{op}` (no version segment at all) names the operation, not a version.
  const bare = third === undefined && request.method === "POST";
  const version = bare ? "" : second;
  const rawOp = bare ? second : third;
  const key = config.keys.get(fullName.split("--")[0]!);
  if (!key || (version !== "" && version !== key.version)) {
    return kvError(404, "KeyNotFound", `A key with (name/id) ${fullName}/${version} was not found in this key vault.`);
  }
  const kid = `${origin(request)}/keys/${fullName}/${key.version}`;
  if (rawOp === undefined) {
    if (request.method !== "GET") return kvError(405, "MethodNotAllowed", "GET only");
    return Response.json(keyBundle(kid, key));
  }
  const op = rawOp.toLowerCase();
  if (request.method !== "POST" || !["wrapkey", "unwrapkey", "encrypt", "decrypt"].includes(op)) {
    return kvError(404, "NotFound", "The requested operation was not found.");
  }
  let json: unknown;
  try {
    json = JSON.parse(await request.text());
  } catch {
    return kvError(400, "BadParameter", "Request body is not JSON.");
  }
  const input = OperationInput.safeParse(json);
  if (!input.success) return kvError(400, "BadParameter", "Property 'alg' and 'value' are required.");
  let value: Uint8Array;
  try {
    value = base64urlToBytes(input.data.value.replace(/=+$/, ""));
  } catch {
    return kvError(400, "BadParameter", "Property 'value' must be base64url.");
  }
  if (value.length === 0 || value.length > MAX_VALUE_BYTES)
    return kvError(400, "BadParameter", "Property 'value' has an invalid length.");
  if (!key.algorithms.includes(input.data.alg)) {
    return kvError(
      400,
      "BadParameter",
      `Algorithm ${input.data.alg.slice(0, 32)} is not supported for key type ${key.kty}.`,
    );
  }

  recordCall(fullName, op);
  const fault = await faultResponse(takeFault(fullName), {
    error: () => kvError(500, "InternalServerError", "injected fault: internal failure"),
    throttle: () =>
      kvError(429, "Throttled", "injected fault: Rate limit is exceeded. Try again later.", { "retry-after": "1" }),
  });
  if (fault) return fault;

  const forward = op === "wrapkey" || op === "encrypt";
  try {
    const result = await (forward ? wrap : unwrap)(input.data.alg, value, key, config);
    return Response.json({ kid, value: bytesToBase64url(result) });
  } catch {
    return kvError(
      400,
      "BadParameter",
      forward ? "Invalid key length for the algorithm." : "Decryption failed: the ciphertext is invalid.",
    );
  }
}

async function wrap(alg: string, value: Uint8Array, k: EmulatedKey, config: AzureEmulatorConfig): Promise<Uint8Array> {
  if (alg === "A256KW") {
    const data = await crypto.subtle.importKey("raw", value, { name: "HMAC", hash: "SHA-256" }, true, ["sign"]);
    return new Uint8Array(await crypto.subtle.wrapKey("raw", data, config.oct, "AES-KW"));
  }
  const key = alg === "RSA-OAEP" ? k.rsa!.public1 : k.rsa!.public256;
  return new Uint8Array(await crypto.subtle.encrypt({ name: "RSA-OAEP" }, key, value));
}

async function unwrap(
  alg: string,
  value: Uint8Array,
  k: EmulatedKey,
  config: AzureEmulatorConfig,
): Promise<Uint8Array> {
  if (alg === "A256KW") {
    const data = await crypto.subtle.unwrapKey(
      "raw",
      value,
      config.oct,
      "AES-KW",
      { name: "HMAC", hash: "SHA-256" },
      true,
      ["sign"],
    );
    return new Uint8Array((await crypto.subtle.exportKey("raw", data)) as ArrayBuffer);
  }
  const key = alg === "RSA-OAEP" ? k.rsa!.oaep1 : k.rsa!.oaep256;
  return new Uint8Array(await crypto.subtle.decrypt({ name: "RSA-OAEP" }, key, value));
}

/** The key as GET returns it: public parts only, as Key Vault never returns private material. */
function keyBundle(kid: string, key: EmulatedKey) {
  const created = 1_700_000_000;
  const attributes = { enabled: true, created, updated: created, recoveryLevel: "Recoverable+Purgeable" };
  if (key.kty === "RSA") {
    return {
      key: {
        kid,
        kty: "RSA",
        key_ops: ["encrypt", "decrypt", "wrapKey", "unwrapKey"],
        n: key.rsa!.n,
        e: key.rsa!.e,
      },
      attributes,
    };
  }
  return { key: { kid, kty: "oct-HSM", key_ops: ["wrapKey", "unwrapKey"] }, attributes };
}

/** The origin the client addressed, by its Host header (wrangler dev may rewrite request.url). */
function origin(request: Request): string {
  const url = new URL(request.url);
  const host = request.headers.get("host");
  if (host) url.host = host;
  return url.origin;
}
